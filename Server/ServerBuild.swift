/// What this build of the server is: `tandem-server --version` and `tandem_build_info` say it.
public enum ServerBuild {
    /// The release version.
    public static let version = "0.1.0"
}

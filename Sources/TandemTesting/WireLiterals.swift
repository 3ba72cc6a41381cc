public import TandemProtocol

// Tests write reasons and codes as the wire carries them (`"unique:email"`), which pins their
// text; the product builds them from the typed constructors only.

extension RejectionReason: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) { self.init(rawValue: text) }
}

extension ErrorCode: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) { self.init(rawValue: text) }
}

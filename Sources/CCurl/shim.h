// libcurl for the tandem CLI's HTTP transport.
//
// libcurl is loaded with dlopen when the first transport is made, not linked: linked, every tandem
// run (a one-edit `tandem set` too) would load libcurl and the ~30 libraries it needs, which costs
// more start-up time than the whole edit (measured: --version 4.7 ms unlinked, 11.5 ms linked).
// curl.h is included for its types and constants only.
//
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: the typed wrappers
// below can.
#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

/// The libcurl functions the transport uses, resolved by tandem_curl_open.
typedef struct tandem_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    void (*easy_reset)(CURL *curl);
    CURLcode (*easy_perform)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
} tandem_curl_api;

/// Loads libcurl and fills `api`; returns 1, or 0 when libcurl cannot be found (dlerror() says why).
static inline int tandem_curl_open(tandem_curl_api *api) {
    static const char *const names[] = {
        "libcurl.so.4", "libcurl.so", "libcurl.4.dylib", "/usr/lib/libcurl.4.dylib", "libcurl.dylib",
    };
    void *library = NULL;
    for (size_t index = 0; index < sizeof names / sizeof names[0] && library == NULL; index++) {
        library = dlopen(names[index], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) return 0;
    api->global_init = (CURLcode (*)(long))dlsym(library, "curl_global_init");
    api->easy_init = (CURL * (*)(void)) dlsym(library, "curl_easy_init");
    api->easy_cleanup = (void (*)(CURL *))dlsym(library, "curl_easy_cleanup");
    api->easy_reset = (void (*)(CURL *))dlsym(library, "curl_easy_reset");
    api->easy_perform = (CURLcode (*)(CURL *))dlsym(library, "curl_easy_perform");
    api->easy_strerror = (const char *(*)(CURLcode))dlsym(library, "curl_easy_strerror");
    api->easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))dlsym(library, "curl_easy_setopt");
    api->easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))dlsym(library, "curl_easy_getinfo");
    api->slist_append = (struct curl_slist * (*)(struct curl_slist *, const char *)) dlsym(library, "curl_slist_append");
    api->slist_free_all = (void (*)(struct curl_slist *))dlsym(library, "curl_slist_free_all");
    return api->global_init && api->easy_init && api->easy_cleanup && api->easy_reset && api->easy_perform
        && api->easy_strerror && api->easy_setopt && api->easy_getinfo && api->slist_append && api->slist_free_all;
}

static inline CURLcode tandem_curl_global_init(const tandem_curl_api *api) {
    return api->global_init(CURL_GLOBAL_DEFAULT);
}
static inline CURL *tandem_curl_easy_init(const tandem_curl_api *api) { return api->easy_init(); }
static inline void tandem_curl_easy_cleanup(const tandem_curl_api *api, CURL *curl) { api->easy_cleanup(curl); }
static inline void tandem_curl_easy_reset(const tandem_curl_api *api, CURL *curl) { api->easy_reset(curl); }
static inline CURLcode tandem_curl_easy_perform(const tandem_curl_api *api, CURL *curl) {
    return api->easy_perform(curl);
}
static inline const char *tandem_curl_easy_strerror(const tandem_curl_api *api, CURLcode code) {
    return api->easy_strerror(code);
}
static inline struct curl_slist *tandem_curl_slist_append(
    const tandem_curl_api *api, struct curl_slist *list, const char *text) {
    return api->slist_append(list, text);
}
static inline void tandem_curl_slist_free_all(const tandem_curl_api *api, struct curl_slist *list) {
    api->slist_free_all(list);
}

static inline CURLcode tandem_curl_set_long(const tandem_curl_api *api, CURL *curl, CURLoption option, long value) {
    return api->easy_setopt(curl, option, value);
}
static inline CURLcode tandem_curl_set_string(
    const tandem_curl_api *api, CURL *curl, CURLoption option, const char *value) {
    return api->easy_setopt(curl, option, value);
}
static inline CURLcode tandem_curl_set_pointer(const tandem_curl_api *api, CURL *curl, CURLoption option, void *value) {
    return api->easy_setopt(curl, option, value);
}
static inline CURLcode tandem_curl_set_slist(
    const tandem_curl_api *api, CURL *curl, CURLoption option, struct curl_slist *value) {
    return api->easy_setopt(curl, option, value);
}
typedef size_t (*tandem_curl_write_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode tandem_curl_set_write_function(
    const tandem_curl_api *api, CURL *curl, tandem_curl_write_callback callback) {
    return api->easy_setopt(curl, CURLOPT_WRITEFUNCTION, callback);
}
static inline CURLcode tandem_curl_set_header_function(
    const tandem_curl_api *api, CURL *curl, tandem_curl_write_callback callback) {
    return api->easy_setopt(curl, CURLOPT_HEADERFUNCTION, callback);
}
static inline CURLcode tandem_curl_get_response_code(const tandem_curl_api *api, CURL *curl, long *code) {
    return api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
}

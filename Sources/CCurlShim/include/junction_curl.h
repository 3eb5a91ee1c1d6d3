#ifndef JUNCTION_CURL_SHIM_H
#define JUNCTION_CURL_SHIM_H

#include <curl/curl.h>
#include <stddef.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
   One typed wrapper per argument kind that Junction passes. */

typedef size_t (*junction_curl_data_callback)(char *data, size_t size, size_t nmemb, void *userdata);

CURLcode junction_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode junction_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode junction_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode junction_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode junction_curl_setopt_data_callback(CURL *handle, CURLoption option, junction_curl_data_callback value);
CURLcode junction_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif

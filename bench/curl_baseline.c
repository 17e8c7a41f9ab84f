/*
 * curl_baseline — the floor for the HTTP benchmark: N sequential GETs on one
 * libcurl easy handle (keep-alive), bodies received into memory and dropped.
 *   usage: curl_baseline URL N [HEADER]
 * Prints "<seconds> <bytes>" on stdout.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  *(size_t *)ud += size * n;
  return size * n;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s URL N [HEADER]\n", argv[0]);
    return 2;
  }
  long n = strtol(argv[2], NULL, 10);
  size_t bytes = 0;
  struct curl_slist *hdr = NULL;
  struct timespec a, b;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *h = curl_easy_init();
  if (argc > 3) hdr = curl_slist_append(hdr, argv[3]);
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      fprintf(stderr, "curl: %s\n", curl_easy_strerror(rc));
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.6f %zu\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, bytes);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return 0;
}

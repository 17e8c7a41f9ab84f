/*
 * curl_baseline — the floor for the HTTP benchmark: N sequential requests on
 * one libcurl easy handle (keep-alive), bodies received into memory.
 *   usage: curl_baseline URL N [HEADER | -d BODY | --compressed[=LIST] | --nosignal | --yajl-tree]...
 * A HEADER is sent as given; -d BODY makes it a POST of BODY; --compressed
 * asks for every encoding libcurl decodes (CURLOPT_ACCEPT_ENCODING ""),
 * --compressed=LIST for those of LIST only; --nosignal
 * sets CURLOPT_NOSIGNAL (as the SDK does: no SIGPIPE/SIGALRM handler juggling,
 * six rt_sigaction calls per transfer on libcurl 7.88); --yajl-tree
 * parses every body into a yajl tree (yajl_tree_parse) and frees it, the
 * usual C way to read a JSON answer; without it the bytes are dropped.
 * Prints "<seconds> <bytes> <cpu seconds> <user> <system>" on stdout: wall
 * time, body bytes, the CPU time (user + system, CLOCK_PROCESS_CPUTIME_ID) of
 * the loop, and its user and system parts (getrusage, microseconds).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <yajl/yajl_tree.h>

typedef struct {
  char *data;
  size_t len, cap, total;
} sink_t;

static size_t sink(char *p, size_t size, size_t n, void *ud) {
  sink_t *s = (sink_t *)ud;
  size_t k = size * n;
  s->total += k;
  if (s->len + k + 1 > s->cap) {
    size_t cap = (s->len + k + 1) * 2;
    char *d = (char *)realloc(s->data, cap);
    if (d == NULL) return 0;
    s->data = d;
    s->cap = cap;
  }
  memcpy(s->data + s->len, p, k);
  s->len += k;
  return k;
}

static double tv_diff(const struct timeval *x, const struct timeval *y) {
  return (double)(x->tv_sec - y->tv_sec) + (double)(x->tv_usec - y->tv_usec) / 1e6;
}

int main(int argc, char **argv) {
  long n;
  int i, tree = 0;
  sink_t body = { NULL, 0, 0, 0 };
  struct curl_slist *hdr = NULL;
  struct timespec a, b, ca, cb;
  struct rusage ra, rb;
  CURL *h;
  if (argc < 3) {
    fprintf(stderr, "usage: %s URL N [HEADER | -d BODY | --compressed[=LIST] | --nosignal | --yajl-tree]...\n", argv[0]);
    return 2;
  }
  n = strtol(argv[2], NULL, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  h = curl_easy_init();
  for (i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--yajl-tree") == 0) {
      tree = 1;
    } else if (strcmp(argv[i], "--nosignal") == 0) {
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    } else if (strcmp(argv[i], "--compressed") == 0) {
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    } else if (strncmp(argv[i], "--compressed=", 13) == 0) {
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, argv[i] + 13);
    } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, argv[++i]);
    } else {
      hdr = curl_slist_append(hdr, argv[i]);
    }
  }
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  getrusage(RUSAGE_SELF, &ra);
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
  for (long k = 0; k < n; k++) {
    CURLcode rc;
    body.len = 0;
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      fprintf(stderr, "curl: %s\n", curl_easy_strerror(rc));
      return 1;
    }
    if (tree) {
      char err[128];
      yajl_val v;
      body.data[body.len] = '\0';
      v = yajl_tree_parse(body.data, err, sizeof err);
      if (v == NULL) {
        fprintf(stderr, "yajl: %s\n", err);
        return 1;
      }
      yajl_tree_free(v);
    }
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
  clock_gettime(CLOCK_MONOTONIC, &b);
  getrusage(RUSAGE_SELF, &rb);
  printf("%.6f %zu %.6f %.6f %.6f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
         body.total, (double)(cb.tv_sec - ca.tv_sec) + (double)(cb.tv_nsec - ca.tv_nsec) / 1e9,
         tv_diff(&rb.ru_utime, &ra.ru_utime), tv_diff(&rb.ru_stime, &ra.ru_stime));
  free(body.data);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return 0;
}

/* creatorapi-mock: outbound webhook deliveries.
 *
 * Lua decides what to deliver and when (mock/lua/tasks.lua); the main
 * thread's tick hands jobs to this queue. Worker threads POST them with
 * libcurl and put the outcome on a "done" list that the next tick reports
 * back to Lua. Workers never touch the Lua state. */
#include "mock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define MAX_WORKERS 8

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct mock_delivery *q_head, *q_tail;
static struct mock_delivery *done_head;
static volatile int q_stop;
static pthread_t workers[MAX_WORKERS];
static int nworkers_started;

void mock_delivery_free(struct mock_delivery *d)
{
    char **h;
    if (!d)
        return;
    free(d->url);
    free(d->body);
    if (d->headers) {
        for (h = d->headers; *h; h++)
            free(*h);
        free(d->headers);
    }
    free(d->error);
    free(d);
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static int abort_on_stop(void *clientp, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)clientp; (void)dt; (void)dn; (void)ut; (void)un;
    return q_stop ? 1 : 0;
}

static void deliver(struct mock_delivery *d)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    char **h;
    struct timespec t0, t1;
    CURLcode rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!c) {
        d->error = strdup("curl_easy_init failed");
        return;
    }
    for (h = d->headers; h && *h; h++)
        hl = curl_slist_append(hl, *h);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms > 0 ? d->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "CreatiVault-Webhook/1.0 (creatorapi-mock)");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &d->status);
    } else {
        d->status = 0;
        d->error = strdup(curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    d->elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        struct mock_delivery *d;
        pthread_mutex_lock(&q_lock);
        while (!q_head && !q_stop)
            pthread_cond_wait(&q_cond, &q_lock);
        if (q_stop) {
            pthread_mutex_unlock(&q_lock);
            return NULL;
        }
        d = q_head;
        q_head = d->next;
        if (!q_head)
            q_tail = NULL;
        d->next = NULL;
        pthread_mutex_unlock(&q_lock);

        deliver(d);

        pthread_mutex_lock(&q_lock);
        d->next = done_head;
        done_head = d;
        pthread_mutex_unlock(&q_lock);
    }
}

int mock_webhook_start(int n)
{
    int i;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    q_stop = 0;
    for (i = 0; i < n; i++) {
        if (pthread_create(&workers[i], NULL, worker, NULL) != 0)
            break;
        nworkers_started++;
    }
    return nworkers_started > 0 ? 0 : -1;
}

void mock_webhook_stop(void)
{
    int i;
    struct mock_delivery *d, *next;
    pthread_mutex_lock(&q_lock);
    q_stop = 1;
    pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
    for (i = 0; i < nworkers_started; i++)
        pthread_join(workers[i], NULL);
    nworkers_started = 0;
    for (d = q_head; d; d = next) {
        next = d->next;
        mock_delivery_free(d);
    }
    for (d = done_head; d; d = next) {
        next = d->next;
        mock_delivery_free(d);
    }
    q_head = q_tail = done_head = NULL;
}

void mock_webhook_submit(struct mock_delivery *d)
{
    d->next = NULL;
    pthread_mutex_lock(&q_lock);
    if (q_tail)
        q_tail->next = d;
    else
        q_head = d;
    q_tail = d;
    pthread_cond_signal(&q_cond);
    pthread_mutex_unlock(&q_lock);
}

struct mock_delivery *mock_webhook_take_done(void)
{
    struct mock_delivery *d;
    pthread_mutex_lock(&q_lock);
    d = done_head;
    done_head = NULL;
    pthread_mutex_unlock(&q_lock);
    return d;
}

/*
 * snapshot.c — immutable catalog views and their atomic swap (snapshot.h).
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

static int cmp_slice(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cmp_proj(const void *a, const void *b)
{
    return strcmp(((const snap_project *)a)->p->key, ((const snap_project *)b)->p->key);
}
static int cmp_proj_id(const void *a, const void *b)
{
    int64_t x = (*(snap_project *const *)a)->p->id, y = (*(snap_project *const *)b)->p->id;
    return x < y ? -1 : x > y;
}
static int cmp_fw(const void *a, const void *b)
{
    return strcmp(((const snap_firmware *)a)->fw->name, ((const snap_firmware *)b)->fw->name);
}
static int cmp_pkg_id(const void *a, const void *b)
{
    int64_t x = (*(const cat_package *const *)a)->id, y = (*(const cat_package *const *)b)->id;
    return x < y ? -1 : x > y;
}
static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(const cat_file *const *)a)->name, (*(const cat_file *const *)b)->name);
}
static int cmp_listed(const void *a, const void *b)
{
    const cat_listed *x = a, *y = b;
    if (x->project_id != y->project_id)
        return x->project_id < y->project_id ? -1 : 1;
    return strcmp(x->device_id, y->device_id);
}
static int cmp_fw_by_project(const void *a, const void *b)
{
    const cat_firmware *x = a, *y = b;
    if (x->project_id != y->project_id)
        return x->project_id < y->project_id ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* qsort that accepts an empty (NULL) array */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static void snapshot_free(snapshot *s)
{
    catalog_free(&s->cat);
    free(s->projects);
    free(s->projects_by_id);
    free(s->pkgs_by_id);
    free(s->files_by_name);
    free(s->fw_storage);
    free(s->pkg_storage);
    free(s);
}

snapshot *snapshot_build(catalog *cat)
{
    snapshot *s = calloc(1, sizeof *s);
    if (s == NULL) {
        catalog_free(cat);
        return NULL;
    }
    s->cat = *cat;
    memset(cat, 0, sizeof *cat);
    catalog *c = &s->cat;
    atomic_init(&s->refs, 1);
    size_t np = c->nprojects, nf = c->nfirmware, nk = c->npackages;
    s->projects = calloc(np + 1, sizeof *s->projects);
    s->projects_by_id = calloc(np + 1, sizeof *s->projects_by_id);
    s->pkgs_by_id = calloc(nk + 1, sizeof *s->pkgs_by_id);
    s->files_by_name = calloc(c->nfiles + 1, sizeof *s->files_by_name);
    s->fw_storage = calloc(nf + 1, sizeof *s->fw_storage);
    s->pkg_storage = calloc(nk + 1, sizeof *s->pkg_storage);
    if (!s->projects || !s->projects_by_id || !s->pkgs_by_id || !s->files_by_name || !s->fw_storage ||
        !s->pkg_storage) {
        snapshot_free(s);
        return NULL;
    }
    s->nprojects = np;
    for (size_t i = 0; i < np; i++)
        s->projects[i].p = &c->projects[i];
    sort(s->projects, np, sizeof *s->projects, cmp_proj);
    for (size_t i = 0; i < np; i++)
        s->projects_by_id[i] = &s->projects[i];
    sort(s->projects_by_id, np, sizeof *s->projects_by_id, cmp_proj_id);

    /* firmware grouped by project, then sorted by name inside each group */
    sort(c->firmware, nf, sizeof *c->firmware, cmp_fw_by_project);
    for (size_t i = 0; i < nf; i++)
        s->fw_storage[i].fw = &c->firmware[i];
    for (size_t i = 0; i < nf;) {
        size_t j = i;
        while (j < nf && c->firmware[j].project_id == c->firmware[i].project_id)
            j++;
        snap_project *p = (snap_project *)snap_project_by_id(s, c->firmware[i].project_id);
        sort(&s->fw_storage[i], j - i, sizeof *s->fw_storage, cmp_fw);
        if (p != NULL) {
            p->fws = &s->fw_storage[i];
            p->nfw = j - i;
        }
        i = j;
    }
    /* packages: by id, and grouped under their firmware */
    for (size_t i = 0; i < nk; i++)
        s->pkgs_by_id[i] = &c->packages[i];
    sort(s->pkgs_by_id, nk, sizeof *s->pkgs_by_id, cmp_pkg_id);
    size_t used = 0;
    for (size_t f = 0; f < nf; f++) {
        snap_firmware *sf = &s->fw_storage[f];
        sf->pkgs = &s->pkg_storage[used];
        for (size_t i = 0; i < nk; i++)
            if (c->packages[i].firmware_id == sf->fw->id)
                s->pkg_storage[used++] = &c->packages[i];
        sf->npkgs = (size_t)(&s->pkg_storage[used] - sf->pkgs);
        snap_project *p = (snap_project *)snap_project_by_id(s, sf->fw->project_id);
        if (p)
            p->npackages += sf->npkgs;
    }
    for (size_t i = 0; i < c->nfiles; i++)
        s->files_by_name[i] = &c->files[i];
    sort(s->files_by_name, c->nfiles, sizeof *s->files_by_name, cmp_file);
    sort(c->listed, c->nlisted, sizeof *c->listed, cmp_listed);
    for (size_t i = 0; i < c->nlisted;) {
        size_t j = i;
        while (j < c->nlisted && c->listed[j].project_id == c->listed[i].project_id)
            j++;
        snap_project *p = (snap_project *)snap_project_by_id(s, c->listed[i].project_id);
        if (p) {
            p->listed = &c->listed[i];
            p->nlisted = j - i;
        }
        i = j;
    }
    return s;
}

void snapshot_ref(snapshot *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void snapshot_unref(snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}

const snap_project *snap_project_by_key(const snapshot *s, const char *key, size_t len)
{
    size_t lo = 0, hi = s->nprojects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_slice(key, len, s->projects[mid].p->key);
        if (c == 0)
            return &s->projects[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const snap_project *snap_project_by_id(const snapshot *s, int64_t id)
{
    size_t lo = 0, hi = s->nprojects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = s->projects_by_id[mid]->p->id;
        if (v == id)
            return s->projects_by_id[mid];
        if (id < v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const snap_firmware *snap_firmware_by_name(const snap_project *p, const char *name, size_t len)
{
    size_t lo = 0, hi = p->nfw;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_slice(name, len, p->fws[mid].fw->name);
        if (c == 0)
            return &p->fws[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const cat_package *snap_package_by_id(const snapshot *s, int64_t id)
{
    size_t lo = 0, hi = s->cat.npackages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = s->pkgs_by_id[mid]->id;
        if (v == id)
            return s->pkgs_by_id[mid];
        if (id < v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const cat_file *snap_file_by_name(const snapshot *s, const char *name, size_t len)
{
    size_t lo = 0, hi = s->cat.nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_slice(name, len, s->files_by_name[mid]->name);
        if (c == 0)
            return s->files_by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int snap_is_listed(const snap_project *p, const char *device_id)
{
    size_t lo = 0, hi = p->nlisted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(device_id, p->listed[mid].device_id);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

void snap_holder_init(snap_holder *h, snapshot *first)
{
    pthread_rwlock_init(&h->lock, NULL);
    h->cur = first;
}

snapshot *snap_acquire(snap_holder *h)
{
    pthread_rwlock_rdlock(&h->lock);
    snapshot *s = h->cur;
    snapshot_ref(s);
    pthread_rwlock_unlock(&h->lock);
    return s;
}

void snap_swap(snap_holder *h, snapshot *next)
{
    pthread_rwlock_wrlock(&h->lock);
    snapshot *old = h->cur;
    h->cur = next;
    pthread_rwlock_unlock(&h->lock);
    snapshot_unref(old);
}

void snap_holder_destroy(snap_holder *h)
{
    snapshot_unref(h->cur);
    h->cur = NULL;
    pthread_rwlock_destroy(&h->lock);
}

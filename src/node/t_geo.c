/* Geohash arithmetic, distances and area searches over sorted sets (see
 * t_geo.h).  The cell choice (steps, neighbours, which neighbours to skip),
 * the in-area tests and their floating-point order follow Redis 7.0, so a
 * search returns the members, order and digits Redis does. */
#include "node/t_geo.h"
#include "core/alloc.h"
#include "node/t_zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEO_EARTH_RADIUS 6372797.560856
#define GEO_MERCATOR_MAX 20037726.37

/* ---- geohash --------------------------------------------------------------- */

/* Spread the low 32 bits of x over the even bits of the result. */
static uint64_t
geo_spread(uint32_t x)
{
    uint64_t v = x;
    v = (v | (v << 16)) & 0x0000FFFF0000FFFFULL;
    v = (v | (v << 8)) & 0x00FF00FF00FF00FFULL;
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    v = (v | (v << 2)) & 0x3333333333333333ULL;
    v = (v | (v << 1)) & 0x5555555555555555ULL;
    return v;
}

static uint32_t
geo_squash(uint64_t v)
{
    v &= 0x5555555555555555ULL;
    v = (v | (v >> 1)) & 0x3333333333333333ULL;
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FFULL;
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFULL;
    v = (v | (v >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)v;
}

uint64_t
geo_encode(double lon, double lat, double lat_min, double lat_max, unsigned step)
{
    double lat_off = (lat - lat_min) / (lat_max - lat_min);
    double lon_off = (lon - GEO_LON_MIN) / (GEO_LON_MAX - GEO_LON_MIN);
    lat_off *= (double)(1ULL << step);
    lon_off *= (double)(1ULL << step);
    return geo_spread((uint32_t)lat_off) | (geo_spread((uint32_t)lon_off) << 1);
}

/* A cell: its hash bits at step bits per coordinate.  step 0 marks a
 * neighbour the search skips. */
struct geo_cell {
    uint64_t bits;
    unsigned step;
};

struct geo_area {
    double lon_min, lon_max, lat_min, lat_max;
};

static void
geo_cell_area(struct geo_cell h, struct geo_area *a)
{
    uint32_t ilat = geo_squash(h.bits), ilon = geo_squash(h.bits >> 1);
    double lat_scale = GEO_LAT_MAX - GEO_LAT_MIN, lon_scale = GEO_LON_MAX - GEO_LON_MIN;
    double div = (double)(1ULL << h.step);
    a->lat_min = GEO_LAT_MIN + (ilat * 1.0 / div) * lat_scale;
    a->lat_max = GEO_LAT_MIN + ((ilat + 1) * 1.0 / div) * lat_scale;
    a->lon_min = GEO_LON_MIN + (ilon * 1.0 / div) * lon_scale;
    a->lon_max = GEO_LON_MIN + ((ilon + 1) * 1.0 / div) * lon_scale;
}

void
geo_decode(uint64_t bits, double *lon, double *lat)
{
    struct geo_area a;
    geo_cell_area((struct geo_cell){bits, GEO_STEP_MAX}, &a);
    *lon = (a.lon_min + a.lon_max) / 2;
    if (*lon > GEO_LON_MAX) {
        *lon = GEO_LON_MAX;
    }
    if (*lon < GEO_LON_MIN) {
        *lon = GEO_LON_MIN;
    }
    *lat = (a.lat_min + a.lat_max) / 2;
    if (*lat > GEO_LAT_MAX) {
        *lat = GEO_LAT_MAX;
    }
    if (*lat < GEO_LAT_MIN) {
        *lat = GEO_LAT_MIN;
    }
}

/* Move a cell by one along longitude (odd bits) or latitude (even bits),
 * wrapping around at the edges as geohash neighbours do. */
static struct geo_cell
geo_cell_move(struct geo_cell h, int dlon, int dlat)
{
    unsigned shift = 64 - h.step * 2;
    if (dlon != 0) {
        uint64_t x = h.bits & 0xaaaaaaaaaaaaaaaaULL, y = h.bits & 0x5555555555555555ULL;
        uint64_t zz = 0x5555555555555555ULL >> shift;
        if (dlon > 0) {
            x = x + (zz + 1);
        } else {
            x = (x | zz) - (zz + 1);
        }
        x &= 0xaaaaaaaaaaaaaaaaULL >> shift;
        h.bits = x | y;
    }
    if (dlat != 0) {
        uint64_t x = h.bits & 0xaaaaaaaaaaaaaaaaULL, y = h.bits & 0x5555555555555555ULL;
        uint64_t zz = 0xaaaaaaaaaaaaaaaaULL >> shift;
        if (dlat > 0) {
            y = y + (zz + 1);
        } else {
            y = (y | zz) - (zz + 1);
        }
        y &= 0x5555555555555555ULL >> shift;
        h.bits = x | y;
    }
    return h;
}

/* ---- distances ------------------------------------------------------------- */

static double
geo_rad(double d)
{
    return d * (M_PI / 180.0);
}

static double
geo_deg(double r)
{
    return r / (M_PI / 180.0);
}

static double
geo_lat_distance(double lat1, double lat2)
{
    return GEO_EARTH_RADIUS * fabs(geo_rad(lat2) - geo_rad(lat1));
}

/* Haversine on Redis's earth radius, with its shortcut for one longitude. */
double
geo_distance(double lon1, double lat1, double lon2, double lat2)
{
    double v = sin((geo_rad(lon2) - geo_rad(lon1)) / 2);
    if (v == 0.0) {
        return geo_lat_distance(lat1, lat2);
    }
    double lat1r = geo_rad(lat1), lat2r = geo_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * GEO_EARTH_RADIUS * asin(sqrt(a));
}

size_t
geo_format_distance(char *buf, double d)
{
    if (d == 0) {
        memcpy(buf, "0.0000", 7);
        return 6;
    }
    /* Redis's fixedpoint_d2string: scale, round to nearest even, print. */
    long long v = llrint(d * 10000.0);
    int neg = v < 0;
    unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int l = snprintf(buf, 32, "%s%llu.%04llu", neg ? "-" : "", u / 10000, u % 10000);
    return l < 0 ? 0 : (size_t)l;
}

/* ---- the cells to search --------------------------------------------------- */

/* Redis's step estimate: cells about as wide as the radius, wider near
 * the poles. */
static unsigned
geo_steps_for_radius(double range, double lat)
{
    if (range == 0) {
        return GEO_STEP_MAX;
    }
    int step = 1;
    while (range < GEO_MERCATOR_MAX) {
        range *= 2;
        step++;
    }
    step -= 2;
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) {
            step--;
        }
    }
    if (step < 1) {
        step = 1;
    }
    if (step > GEO_STEP_MAX) {
        step = GEO_STEP_MAX;
    }
    return (unsigned)step;
}

/* The bounding box of the shape: lon_min, lat_min, lon_max, lat_max. */
static void
geo_bounds(const struct geo_shape *s, double b[4])
{
    double height = s->conversion * (s->type == GEO_SHAPE_CIRCLE ? s->radius : s->height / 2);
    double width = s->conversion * (s->type == GEO_SHAPE_CIRCLE ? s->radius : s->width / 2);
    const double lat_delta = geo_deg(height / GEO_EARTH_RADIUS);
    const double lon_delta_top =
        geo_deg(width / GEO_EARTH_RADIUS / cos(geo_rad(s->lat + lat_delta)));
    const double lon_delta_bottom =
        geo_deg(width / GEO_EARTH_RADIUS / cos(geo_rad(s->lat - lat_delta)));
    /* The edges bend towards the pole: the wider end is the one nearer
     * the equator. */
    int south = s->lat < 0;
    b[0] = south ? s->lon - lon_delta_bottom : s->lon - lon_delta_top;
    b[2] = south ? s->lon + lon_delta_bottom : s->lon + lon_delta_top;
    b[1] = s->lat - lat_delta;
    b[3] = s->lat + lat_delta;
}

/* The centre cell and its 8 neighbours, in Redis's order (centre, N, S, E,
 * W, NE, NW, SE, SW); a neighbour wholly outside the area has step 0. */
static void
geo_cells(const struct geo_shape *s, struct geo_cell cells[9])
{
    double b[4];
    geo_bounds(s, b);
    double radius = s->type == GEO_SHAPE_CIRCLE
                        ? s->radius
                        : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius *= s->conversion;
    unsigned steps = geo_steps_for_radius(radius, s->lat);
    struct geo_cell c = {geo_encode(s->lon, s->lat, GEO_LAT_MIN, GEO_LAT_MAX, steps), steps};

    /* Near a cell edge one neighbour may not reach far enough: then use
     * cells one step bigger. */
    struct geo_area n, so, e, w;
    geo_cell_area(geo_cell_move(c, 0, 1), &n);
    geo_cell_area(geo_cell_move(c, 0, -1), &so);
    geo_cell_area(geo_cell_move(c, 1, 0), &e);
    geo_cell_area(geo_cell_move(c, -1, 0), &w);
    int decrease = n.lat_max < b[3] || so.lat_min > b[1] || e.lon_max < b[2] || w.lon_min > b[0];
    if (steps > 1 && decrease) {
        steps--;
        c = (struct geo_cell){geo_encode(s->lon, s->lat, GEO_LAT_MIN, GEO_LAT_MAX, steps), steps};
    }
    static const int moves[9][2] = {{0, 0}, {0, 1}, {0, -1}, {1, 0}, {-1, 0},
                                    {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
    for (int i = 0; i < 9; i++) {
        cells[i] = geo_cell_move(c, moves[i][0], moves[i][1]);
    }
    if (steps >= 2) {
        struct geo_area a;
        geo_cell_area(c, &a);
        for (int i = 1; i < 9; i++) {
            int dlon = moves[i][0], dlat = moves[i][1];
            if ((dlat < 0 && a.lat_min < b[1]) || (dlat > 0 && a.lat_max > b[3])
                || (dlon < 0 && a.lon_min < b[0]) || (dlon > 0 && a.lon_max > b[2])) {
                cells[i] = (struct geo_cell){0, 0};
            }
        }
    }
}

/* ---- the search ------------------------------------------------------------ */

/* Whether the point of score is inside the shape; its position and
 * distance to the centre (meters) when it is. */
static int
geo_within(const struct geo_shape *s, double score, double *lon, double *lat, double *dist)
{
    geo_decode((uint64_t)score, lon, lat);
    if (s->type == GEO_SHAPE_CIRCLE) {
        *dist = geo_distance(s->lon, s->lat, *lon, *lat);
        return *dist <= s->radius * s->conversion;
    }
    double width = s->width * s->conversion, height = s->height * s->conversion;
    if (geo_lat_distance(*lat, s->lat) > height / 2) {
        return 0;
    }
    if (geo_distance(*lon, *lat, s->lon, *lat) > width / 2) {
        return 0;
    }
    *dist = geo_distance(s->lon, s->lat, *lon, *lat);
    return 1;
}

static void
geo_result_add(struct geo_result *res, const char *m, size_t len, int copy, double lon,
               double lat, double dist, double score)
{
    if (res->n == res->cap) {
        res->cap = res->cap ? res->cap * 2 : 16;
        res->pts = mem_realloc(res->pts, res->cap * sizeof(*res->pts));
    }
    struct geo_point *p = &res->pts[res->n++];
    *p = (struct geo_point){lon, lat, dist, score, m, len, 0};
    if (copy) {
        if (res->alen + len > res->acap) {
            res->acap = (res->alen + len) * 2 + 64;
            res->arena = mem_realloc(res->arena, res->acap);
        }
        memcpy(res->arena + res->alen, m, len);
        p->m = NULL;
        p->off = res->alen;
        res->alen += len;
    }
}

/* The members of one cell: scores in [cell << pad, (cell + 1) << pad). */
static void
geo_search_cell(struct zset *z, struct geo_cell cell, const struct geo_shape *s, size_t limit,
                struct geo_result *res)
{
    unsigned pad = 52 - cell.step * 2;
    struct zset_range r = {0};
    r.min = (double)(cell.bits << pad);
    r.max = (double)((cell.bits + 1) << pad);
    r.minex = 0;
    r.maxex = 1;
    size_t first, count;
    zset_range_ranks(z, &r, &first, &count);
    if (count == 0) {
        return;
    }
    struct zset_iter it;
    zset_iter_init(&it, z, first, 0);
    const char *m;
    size_t len;
    double score;
    for (size_t i = 0; i < count && zset_iter_next(&it, &m, &len, &score); i++) {
        double lon, lat, dist;
        if (geo_within(s, score, &lon, &lat, &dist)) {
            geo_result_add(res, m, len, m == it.buf, lon, lat, dist, score);
        }
        if (limit && res->n >= limit) {
            break;
        }
    }
}

void
geo_search(struct zset *z, const struct geo_shape *shape, size_t limit, struct geo_result *res)
{
    struct geo_cell cells[9];
    geo_cells(shape, cells);
    size_t last = 0;
    for (size_t i = 0; i < 9; i++) {
        if (cells[i].step == 0 && cells[i].bits == 0) {
            continue;
        }
        /* Huge areas make neighbours coincide: read each run once (as
         * Redis, comparing with the last cell read after the centre). */
        if (last != 0 && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step) {
            continue;
        }
        if (limit && res->n >= limit) {
            break;
        }
        geo_search_cell(z, cells[i], shape, limit, res);
        last = i;
    }
}

/* ---- ordering -------------------------------------------------------------- */

static int
geo_cmp_asc(const void *a, const void *b)
{
    const struct geo_point *pa = a, *pb = b;
    return pa->dist > pb->dist ? 1 : (pa->dist == pb->dist ? 0 : -1);
}

static int
geo_cmp_desc(const void *a, const void *b)
{
    return -geo_cmp_asc(a, b);
}

static int
geo_cmp(const struct geo_point *a, const struct geo_point *b, int desc)
{
    int r = a->dist > b->dist ? 1 : (a->dist == b->dist ? 0 : -1);
    return desc ? -r : r;
}

static void
geo_swap(struct geo_point *v, size_t i, size_t j)
{
    struct geo_point t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* Swap the runs of k points at i and j (they do not overlap). */
static void
geo_swap_runs(struct geo_point *v, size_t i, size_t j, size_t k)
{
    for (size_t x = 0; x < k; x++) {
        geo_swap(v, i + x, j + x);
    }
}

static size_t
geo_median3(struct geo_point *v, size_t a, size_t b, size_t c, int desc)
{
    if (geo_cmp(&v[a], &v[b], desc) < 0) {
        return geo_cmp(&v[b], &v[c], desc) < 0 ? b : (geo_cmp(&v[a], &v[c], desc) < 0 ? c : a);
    }
    return geo_cmp(&v[b], &v[c], desc) > 0 ? b : (geo_cmp(&v[a], &v[c], desc) < 0 ? a : c);
}

/* Redis orders the first k of more points with its partial quicksort (a
 * Bentley-McIlroy three-way quicksort that skips the parts wholly outside
 * the wanted ranks), which is not stable: equal distances come out in the
 * order that algorithm leaves them, so the same algorithm runs here.
 * v[0..n) sits at ranks base..base+n-1; ranks first..last are wanted. */
static void
geo_partial_sort(struct geo_point *v, size_t n, size_t base, size_t first, size_t last, int desc)
{
    for (;;) {
        if (n < 7) {
            for (size_t m = 1; m < n; m++) {
                for (size_t l = m; l > 0 && geo_cmp(&v[l - 1], &v[l], desc) > 0; l--) {
                    geo_swap(v, l, l - 1);
                }
            }
            return;
        }
        size_t pm = n / 2;
        if (n > 7) {
            size_t pl = 0, pn = n - 1;
            if (n > 40) {
                size_t d = n / 8;
                pl = geo_median3(v, pl, pl + d, pl + 2 * d, desc);
                pm = geo_median3(v, pm - d, pm, pm + d, desc);
                pn = geo_median3(v, pn - 2 * d, pn - d, pn, desc);
            }
            pm = geo_median3(v, pl, pm, pn, desc);
        }
        geo_swap(v, 0, pm);
        /* v[0] is the pivot; equal keys gather at both ends
         * ([1, pa) and (pd, n)), smaller in [pa, pb), larger in (pc, pd]. */
        long pa = 1, pb = 1, pc = (long)n - 1, pd = (long)n - 1;
        for (;;) {
            int r;
            while (pb <= pc && (r = geo_cmp(&v[pb], &v[0], desc)) <= 0) {
                if (r == 0) {
                    geo_swap(v, (size_t)pa++, (size_t)pb);
                }
                pb++;
            }
            while (pb <= pc && (r = geo_cmp(&v[pc], &v[0], desc)) >= 0) {
                if (r == 0) {
                    geo_swap(v, (size_t)pc, (size_t)pd--);
                }
                pc--;
            }
            if (pb > pc) {
                break;
            }
            geo_swap(v, (size_t)pb++, (size_t)pc--);
        }
        long pn = (long)n;
        long k = pa < pb - pa ? pa : pb - pa;
        geo_swap_runs(v, 0, (size_t)(pb - k), (size_t)k);
        k = pd - pc < pn - pd - 1 ? pd - pc : pn - pd - 1;
        geo_swap_runs(v, (size_t)pb, (size_t)(pn - k), (size_t)k);
        size_t left = (size_t)(pb - pa), right = (size_t)(pd - pc);
        if (left > 1) {
            size_t s = base, e = base + left - 1;
            if (!((first < s && last < s) || (first > e && last > e))) {
                geo_partial_sort(v, left, base, first, last, desc);
            }
        }
        if (right <= 1) {
            return;
        }
        v += n - right;
        base += n - right;
        n = right;
        size_t s = base, e = base + right - 1;
        if ((first < s && last < s) || (first > e && last > e)) {
            return;
        }
    }
}

void
geo_sort(struct geo_result *res, int desc, size_t k)
{
    size_t n = res->n;
    if (n < 2) {
        return;
    }
    if (k >= n) {
        /* The whole set: the C library's sort, as Redis does. */
        qsort(res->pts, n, sizeof(*res->pts), desc ? geo_cmp_desc : geo_cmp_asc);
        return;
    }
    if (k > 0) {
        geo_partial_sort(res->pts, n, 0, 0, k - 1, desc);
    }
}

const char *
geo_point_member(const struct geo_result *res, const struct geo_point *p, size_t *len)
{
    *len = p->len;
    return p->m != NULL ? p->m : res->arena + p->off;
}

void
geo_result_free(struct geo_result *res)
{
    mem_free(res->pts);
    mem_free(res->arena);
    *res = (struct geo_result){0};
}

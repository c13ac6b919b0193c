/* Geo indexes (node/t_geo.c): hashes round-trip to within a cell, distances
 * print as Redis's fixedpoint_d2string does, the partial sort puts the k
 * nearest first in order, and an area search over a sorted set finds
 * exactly the points a brute-force scan finds (circles and boxes, both
 * encodings, near the poles and the antimeridian). */
#include <criterion/criterion.h>

#include "node/t_geo.h"
#include "node/t_zset.h"
#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double
unit_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / (double)(1ULL << 53);
}

static double
uniform(double lo, double hi)
{
    return lo + (hi - lo) * unit_rand();
}

Test(t_geo, a_point_decodes_within_its_cell)
{
    for (int i = 0; i < 100000; i++) {
        double lon = uniform(GEO_LON_MIN, GEO_LON_MAX), lat = uniform(GEO_LAT_MIN, GEO_LAT_MAX);
        uint64_t bits = geo_encode(lon, lat, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX);
        cr_assert(bits < (1ULL << 52));
        double dlon, dlat;
        geo_decode(bits, &dlon, &dlat);
        /* A cell is 360/2^26 degrees wide and 170.1/2^26 high. */
        cr_assert(fabs(dlon - lon) <= 180.0 / (1 << 26) + 1e-12, "lon %.9f -> %.9f", lon, dlon);
        cr_assert(fabs(dlat - lat) <= 85.06 / (1 << 26) + 1e-12, "lat %.9f -> %.9f", lat, dlat);
    }
}

Test(t_geo, distances_print_rounded_like_redis)
{
    char buf[32];
    cr_assert_str_eq((geo_format_distance(buf, 0), buf), "0.0000");
    cr_assert_str_eq((geo_format_distance(buf, 0.775), buf), "0.7750");
    cr_assert_str_eq((geo_format_distance(buf, 166274.15156960033), buf), "166274.1516");
    /* The product is rounded (llrint, halves to even), not the exact
     * decimal value: 2.81745 * 10000 is 28174.5 -> 28174, where "%.4f"
     * prints 2.8175. */
    cr_assert_eq(2.81745 * 10000.0, 28174.5);
    cr_assert_str_eq((geo_format_distance(buf, 2.81745), buf), "2.8174");
    /* Halves go to the even neighbour. */
    cr_assert_str_eq((geo_format_distance(buf, 1.03125), buf), "1.0312");
    cr_assert_str_eq((geo_format_distance(buf, 1.09375), buf), "1.0938");
    /* GEODIST Sicily Palermo Catania km, between the stored (decoded)
     * positions, as Redis prints it. */
    double lon1, lat1, lon2, lat2;
    geo_decode(geo_encode(13.361389, 38.115556, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX), &lon1,
               &lat1);
    geo_decode(geo_encode(15.087269, 37.502669, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX), &lon2,
               &lat2);
    cr_assert_str_eq((geo_format_distance(buf, geo_distance(lon1, lat1, lon2, lat2) / 1000), buf),
                     "166.2742");
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Regression: sorting no points (a STORE search that found nothing, with
 * ASC or COUNT) passed NULL to qsort, which UBSan stops on. */
Test(t_geo, sorting_no_points_is_a_no_op)
{
    struct geo_result res = {0};
    geo_sort(&res, 0, 0);
    geo_sort(&res, 1, 3);
    cr_assert_eq(res.n, 0);
}

Test(t_geo, the_partial_sort_puts_the_k_nearest_first_in_order)
{
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(unit_rand() * 300);
        size_t k = 1 + (size_t)(unit_rand() * (double)n);
        int desc = round & 1;
        struct geo_result res = {0};
        res.pts = mem_alloc(n * sizeof(*res.pts));
        res.n = res.cap = n;
        double *want = mem_alloc(n * sizeof(*want));
        for (size_t i = 0; i < n; i++) {
            /* Few distinct values: many ties. */
            double d = (double)(int)(unit_rand() * (round % 3 == 0 ? 4 : 1000));
            res.pts[i] = (struct geo_point){0, 0, d, (double)i, NULL, 0, 0};
            want[i] = desc ? -d : d;
        }
        qsort(want, n, sizeof(*want), cmp_double);
        geo_sort(&res, desc, k);
        for (size_t i = 0; i < k; i++) {
            double got = desc ? -res.pts[i].dist : res.pts[i].dist;
            cr_assert_eq(got, want[i], "n %zu k %zu desc %d at %zu", n, k, desc, i);
        }
        /* A permutation: every original point is still there once. */
        char *seen = calloc(n, 1);
        for (size_t i = 0; i < n; i++) {
            size_t id = (size_t)res.pts[i].score;
            cr_assert(id < n && !seen[id]);
            seen[id] = 1;
        }
        free(seen);
        mem_free(want);
        geo_result_free(&res);
    }
}

struct pt {
    double lon, lat;
    char name[16];
};

/* Search z for shape and compare with a scan of every point. */
static void
check_search(struct zset *z, const struct pt *pts, size_t n, const struct geo_shape *s)
{
    struct geo_result res = {0};
    geo_search(z, s, 0, &res);
    char *found = calloc(n, 1);
    for (size_t i = 0; i < res.n; i++) {
        size_t len;
        const char *m = geo_point_member(&res, &res.pts[i], &len);
        size_t id = 0;
        for (size_t j = 1; j < len; j++) {   /* "p<id>", not NUL-terminated */
            id = id * 10 + (size_t)(m[j] - '0');
        }
        cr_assert(id < n && !found[id], "member %.*s twice or unknown", (int)len, m);
        found[id] = 1;
    }
    size_t expected = 0;
    for (size_t i = 0; i < n; i++) {
        double lon, lat, score;
        zset_score(z, pts[i].name, strlen(pts[i].name), &score);
        geo_decode((uint64_t)score, &lon, &lat);
        int inside;
        if (s->type == GEO_SHAPE_CIRCLE) {
            inside = geo_distance(s->lon, s->lat, lon, lat) <= s->radius * s->conversion;
        } else {
            inside = geo_distance(s->lon, lat, s->lon, s->lat) <= s->height * s->conversion / 2
                     && geo_distance(lon, lat, s->lon, lat) <= s->width * s->conversion / 2;
        }
        expected += inside;
        cr_assert_eq(found[i], inside, "%s (%.6f, %.6f) around (%.6f, %.6f): found %d, inside %d",
                     pts[i].name, lon, lat, s->lon, s->lat, found[i], inside);
    }
    cr_assert_eq(res.n, expected);
    free(found);
    geo_result_free(&res);
}

static void
search_against_a_scan(size_t n, size_t max_entries)
{
    struct zset_limits lim = {max_entries, 64};
    struct zset *z = zset_create(&lim, 0, 0);
    struct pt *pts = calloc(n, sizeof(*pts));
    for (size_t i = 0; i < n; i++) {
        double r = unit_rand();
        if (r < 0.5) {          /* a region */
            pts[i].lon = uniform(10, 12);
            pts[i].lat = uniform(44, 46);
        } else if (r < 0.7) {   /* the antimeridian */
            pts[i].lon = unit_rand() < 0.5 ? uniform(179, 180) : uniform(-180, -179);
            pts[i].lat = uniform(-1, 1);
        } else if (r < 0.8) {   /* a pole */
            pts[i].lon = uniform(-180, 180);
            pts[i].lat = uniform(83, GEO_LAT_MAX);
        } else {
            pts[i].lon = uniform(-180, 180);
            pts[i].lat = uniform(GEO_LAT_MIN, GEO_LAT_MAX);
        }
        snprintf(pts[i].name, sizeof(pts[i].name), "p%zu", i);
        uint64_t bits = geo_encode(pts[i].lon, pts[i].lat, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX);
        unsigned out;
        double ns;
        zset_add(z, &lim, pts[i].name, strlen(pts[i].name), (double)bits, 0, &out, &ns);
    }
    cr_assert_str_eq(zset_encoding(z), max_entries >= n ? "listpack" : "skiplist");
    static const double sizes[] = {100, 2000, 20000, 150000, 1000000, 6000000};
    for (int q = 0; q < 400; q++) {
        struct geo_shape s = {0};
        const struct pt *c = &pts[(size_t)(unit_rand() * (double)n)];
        /* Not exactly on +-180 or the latitude limits: there the centre's
         * cell is off the grid and Redis's cover misses points past the
         * edge (the compat scripts pin that behaviour). */
        s.lon = c->lon + uniform(-0.2, 0.2);
        s.lat = c->lat + uniform(-0.2, 0.2);
        s.lon = s.lon >= 180 ? s.lon - 0.3 : (s.lon <= -180 ? s.lon + 0.3 : s.lon);
        s.lat = s.lat >= GEO_LAT_MAX ? s.lat - 0.3 : (s.lat <= GEO_LAT_MIN ? s.lat + 0.3 : s.lat);
        s.conversion = q % 4 == 0 ? 1000 : 1;
        double size = sizes[q % 6] / s.conversion;
        if (q & 1) {
            s.type = GEO_SHAPE_CIRCLE;
            s.radius = size;
        } else {
            s.type = GEO_SHAPE_BOX;
            s.width = size * uniform(0.5, 2);
            s.height = size * uniform(0.5, 2);
        }
        check_search(z, pts, n, &s);
    }
    free(pts);
    zset_free(z);
}

Test(t_geo, a_search_finds_what_a_scan_finds_in_a_large_set)
{
    search_against_a_scan(20000, 128);
}

Test(t_geo, a_search_finds_what_a_scan_finds_in_a_listpack)
{
    search_against_a_scan(100, 128);
}

Test(t_geo, count_any_stops_at_the_limit)
{
    struct zset_limits lim = {128, 64};
    struct zset *z = zset_create(&lim, 0, 0);
    for (int i = 0; i < 50; i++) {
        char name[8];
        snprintf(name, sizeof(name), "%d", i);
        uint64_t bits = geo_encode(1 + i * 1e-4, 1, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX);
        unsigned out;
        double ns;
        zset_add(z, &lim, name, strlen(name), (double)bits, 0, &out, &ns);
    }
    struct geo_shape s = {GEO_SHAPE_CIRCLE, 1, 1, 1000, 100, 0, 0};
    struct geo_result res = {0};
    geo_search(z, &s, 7, &res);
    cr_assert_eq(res.n, 7);
    /* Integer members of a listpack are copied out of the iterator. */
    for (size_t i = 0; i < res.n; i++) {
        size_t len;
        const char *m = geo_point_member(&res, &res.pts[i], &len);
        cr_assert(len >= 1 && len <= 2 && m[0] >= '0' && m[0] <= '9');
    }
    geo_result_free(&res);
    geo_search(z, &s, 0, &res);
    cr_assert_eq(res.n, 50);
    geo_result_free(&res);
    zset_free(z);
}

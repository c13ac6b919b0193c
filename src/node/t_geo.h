/* Geo indexes on sorted sets, as Redis 7.0 keeps them: a point is a member
 * whose score is its 52-bit geohash (26 bits of latitude over +-85.05112878
 * and 26 of longitude over +-180, interleaved).  This module owns the
 * geohash arithmetic, the distances and the area searches (a circle or a
 * box, covered by the 9 geohash cells around the centre, each read as one
 * score range of the sorted set); cmd_geo.c parses and replies. */
#ifndef CACHELY_NODE_T_GEO_H
#define CACHELY_NODE_T_GEO_H

#include <stddef.h>
#include <stdint.h>

struct zset;

#define GEO_STEP_MAX 26
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LON_MIN -180.0
#define GEO_LON_MAX 180.0

/* The hash of (lon, lat) at step bits per coordinate over the latitude
 * range [lat_min, lat_max] (longitude always +-180); the point must be
 * inside the ranges. */
uint64_t geo_encode(double lon, double lat, double lat_min, double lat_max, unsigned step);
/* The centre of a 52-bit hash's cell, clamped to the valid ranges. */
void geo_decode(uint64_t bits, double *lon, double *lat);
/* Haversine distance in meters on Redis's earth radius. */
double geo_distance(double lon1, double lat1, double lon2, double lat2);
/* A distance as Redis prints it: rounded (llrint) to 4 decimals.  buf holds
 * at least 32 bytes; returns the length. */
size_t geo_format_distance(char *buf, double d);

enum geo_shape_type { GEO_SHAPE_CIRCLE, GEO_SHAPE_BOX };

/* A search area: its centre, its size in the request's unit and the unit's
 * meters (conversion). */
struct geo_shape {
    enum geo_shape_type type;
    double lon, lat;
    double conversion;
    double radius;               /* circle */
    double width, height;        /* box */
};

/* A point found: its decoded position, distance to the centre in meters
 * and score.  The member is borrowed from the sorted set (valid while it
 * is not changed), or lives in the result's arena (listpack integers). */
struct geo_point {
    double lon, lat, dist, score;
    const char *m;               /* borrowed from the zset, or NULL: arena */
    size_t len;
    size_t off;                  /* in the arena when m is NULL */
};

struct geo_result {
    struct geo_point *pts;       /* owned */
    size_t n, cap;
    char *arena;                 /* owned: copies of integer members */
    size_t alen, acap;
};

/* Append to res the members of z inside shape, in Redis's order (the 9
 * cells centre, N, S, E, W, NE, NW, SE, SW, each by score).  With limit
 * > 0 (COUNT ... ANY) stop once limit points are found. */
void geo_search(struct zset *z, const struct geo_shape *shape, size_t limit,
                struct geo_result *res);
/* Order the points by distance, ascending or descending, as Redis does:
 * all of them with the C library's qsort when k >= n, else the first k
 * with Redis's partial quicksort (equal distances end up where it leaves
 * them). */
void geo_sort(struct geo_result *res, int desc, size_t k);
/* The member of a point. */
const char *geo_point_member(const struct geo_result *res, const struct geo_point *p,
                             size_t *len);
void geo_result_free(struct geo_result *res);

#endif

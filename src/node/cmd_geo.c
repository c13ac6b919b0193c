/* Geo commands on sorted sets, as Redis 7.0: a point is a member whose
 * score is its 52-bit geohash (26 bits of latitude over +-85.05112878 and
 * 26 of longitude over +-180, interleaved), so positions, hashes and
 * distances come out to the digit Redis prints.  GEOADD, GEOPOS, GEODIST
 * and GEOHASH; the searches (GEOSEARCH, GEORADIUS...) are not done yet. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/object.h"
#include "node/t_zset.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define GEO_STEP 26
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LON_MIN -180.0
#define GEO_LON_MAX 180.0
#define GEO_EARTH_RADIUS 6372797.560856

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

/* The 52-bit hash of a point over the given latitude range: latitude in
 * the even bits, longitude in the odd ones. */
static uint64_t
geo_encode(double lon, double lat, double lat_min, double lat_max)
{
    double lat_off = (lat - lat_min) / (lat_max - lat_min);
    double lon_off = (lon - GEO_LON_MIN) / (GEO_LON_MAX - GEO_LON_MIN);
    lat_off *= (double)(1ULL << GEO_STEP);
    lon_off *= (double)(1ULL << GEO_STEP);
    return geo_spread((uint32_t)lat_off) | (geo_spread((uint32_t)lon_off) << 1);
}

/* The centre of a hash's cell, clamped to the valid ranges. */
static void
geo_decode(uint64_t bits, double *lon, double *lat)
{
    uint32_t ilat = geo_squash(bits), ilon = geo_squash(bits >> 1);
    double lat_scale = GEO_LAT_MAX - GEO_LAT_MIN, lon_scale = GEO_LON_MAX - GEO_LON_MIN;
    double step = (double)(1ULL << GEO_STEP);
    double latmin = GEO_LAT_MIN + (ilat * 1.0 / step) * lat_scale;
    double latmax = GEO_LAT_MIN + ((ilat + 1) * 1.0 / step) * lat_scale;
    double lonmin = GEO_LON_MIN + (ilon * 1.0 / step) * lon_scale;
    double lonmax = GEO_LON_MIN + ((ilon + 1) * 1.0 / step) * lon_scale;
    *lon = (lonmin + lonmax) / 2;
    if (*lon > GEO_LON_MAX) {
        *lon = GEO_LON_MAX;
    }
    if (*lon < GEO_LON_MIN) {
        *lon = GEO_LON_MIN;
    }
    *lat = (latmin + latmax) / 2;
    if (*lat > GEO_LAT_MAX) {
        *lat = GEO_LAT_MAX;
    }
    if (*lat < GEO_LAT_MIN) {
        *lat = GEO_LAT_MIN;
    }
}

static double
geo_rad(double d)
{
    return d * (M_PI / 180.0);
}

/* Haversine on Redis's earth radius, with its shortcut for one longitude. */
static double
geo_distance(double lon1, double lat1, double lon2, double lat2)
{
    double v = sin((geo_rad(lon2) - geo_rad(lon1)) / 2);
    if (v == 0.0) {
        return GEO_EARTH_RADIUS * fabs(geo_rad(lat2) - geo_rad(lat1));
    }
    double lat1r = geo_rad(lat1), lat2r = geo_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * GEO_EARTH_RADIUS * asin(sqrt(a));
}

static inline int
geo_arg_is(const struct resp_arg *a, const char *name)
{
    size_t n = strlen(name);
    return a->len == n && strncasecmp(a->ptr, name, n) == 0;
}

/* The sorted set at key for reading: NULL when absent; *err after a
 * WRONGTYPE reply. */
static struct zset *
geo_lookup(struct client *c, const struct resp_arg *key, int *err)
{
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    *err = 0;
    if (e == NULL) {
        return NULL;
    }
    if (e->type != ENTRY_ZSET) {
        reply_wrongtype(c);
        *err = 1;
        return NULL;
    }
    return entry_obj(e);
}

void
cmd_geoadd(struct client *c)
{
    size_t longidx = 2;
    int nx = 0, xx = 0;
    while (longidx < c->argc) {
        const struct resp_arg *o = &c->argv[longidx];
        if (geo_arg_is(o, "nx")) {
            nx = 1;
        } else if (geo_arg_is(o, "xx")) {
            xx = 1;
        } else if (!geo_arg_is(o, "ch")) {
            break;
        }
        longidx++;
    }
    if ((c->argc - longidx) % 3 != 0 || (nx && xx)) {
        reply_syntax_error(c);
        return;
    }
    size_t n = (c->argc - longidx) / 3;
    size_t argc = longidx + n * 2;
    struct resp_arg *argv = mem_alloc(argc * sizeof(*argv));
    char (*scores)[24] = mem_alloc((n ? n : 1) * sizeof(*scores));
    argv[0] = (struct resp_arg){"zadd", 4};
    for (size_t i = 1; i < longidx; i++) {
        argv[i] = c->argv[i];
    }
    for (size_t i = 0; i < n; i++) {
        const struct resp_arg *a = &c->argv[longidx + 3 * i];
        double lon, lat;
        if (util_str2d(a[0].ptr, a[0].len, &lon) != 0 || util_str2d(a[1].ptr, a[1].len, &lat) != 0
            || isnan(lon) || isnan(lat)) {
            reply_error(c, "value is not a valid float");
            goto out;
        }
        if (lon < GEO_LON_MIN || lon > GEO_LON_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
            reply_errorf(c, "-ERR invalid longitude,latitude pair %f,%f", lon, lat);
            goto out;
        }
        uint64_t bits = geo_encode(lon, lat, GEO_LAT_MIN, GEO_LAT_MAX);
        size_t l = util_ull2str(scores[i], bits);
        argv[longidx + 2 * i] = (struct resp_arg){scores[i], l};
        argv[longidx + 2 * i + 1] = a[2];
    }
    /* The rest is ZADD's work, on the rewritten arguments (the command
     * itself still propagates: the scores follow from the arguments). */
    struct resp_arg *saved = c->argv;
    size_t savedc = c->argc;
    c->argv = argv;
    c->argc = argc;
    cmd_zadd(c);
    c->argv = saved;
    c->argc = savedc;
out:
    mem_free(scores);
    mem_free(argv);
}

/* Redis's addReplyHumanLongDouble: %.17Lf without trailing zeros, a bulk
 * string in RESP2 and a double in RESP3. */
static void
geo_reply_coord(struct client *c, double v)
{
    char buf[UTIL_LD_CHARS];
    size_t l = util_ld2str(buf, sizeof(buf), v);
    if (c->resp == 3) {
        reply_raw(c, ",", 1);
        reply_raw(c, buf, l);
        reply_raw(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, l);
    }
}

void
cmd_geopos(struct client *c)
{
    int err;
    struct zset *z = geo_lookup(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t j = 2; j < c->argc; j++) {
        double score, lon, lat;
        if (z == NULL || !zset_score(z, c->argv[j].ptr, c->argv[j].len, &score)) {
            reply_null_array(c);
            continue;
        }
        geo_decode((uint64_t)score, &lon, &lat);
        reply_array_len(c, 2);
        geo_reply_coord(c, lon);
        geo_reply_coord(c, lat);
    }
}

/* Meters per unit, or 0 after replying the error. */
static double
geo_unit(struct client *c, const struct resp_arg *u)
{
    static const struct {
        const char *name;
        double meters;
    } units[] = {{"m", 1}, {"km", 1000}, {"ft", 0.3048}, {"mi", 1609.34}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (geo_arg_is(u, units[i].name)) {
            return units[i].meters;
        }
    }
    reply_error(c, "unsupported unit provided. please use M, KM, FT, MI");
    return 0;
}

void
cmd_geodist(struct client *c)
{
    double to_meter = 1;
    if (c->argc == 5) {
        if ((to_meter = geo_unit(c, &c->argv[4])) == 0) {
            return;
        }
    } else if (c->argc > 5) {
        reply_syntax_error(c);
        return;
    }
    int err;
    struct zset *z = geo_lookup(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    double s1, s2, lon1, lat1, lon2, lat2;
    if (z == NULL || !zset_score(z, c->argv[2].ptr, c->argv[2].len, &s1)
        || !zset_score(z, c->argv[3].ptr, c->argv[3].len, &s2)) {
        reply_null(c);
        return;
    }
    geo_decode((uint64_t)s1, &lon1, &lat1);
    geo_decode((uint64_t)s2, &lon2, &lat2);
    char buf[64];
    int l = snprintf(buf, sizeof(buf), "%.4f", geo_distance(lon1, lat1, lon2, lat2) / to_meter);
    reply_bulk(c, buf, (size_t)l);
}

void
cmd_geohash(struct client *c)
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    int err;
    struct zset *z = geo_lookup(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t j = 2; j < c->argc; j++) {
        double score, lon, lat;
        if (z == NULL || !zset_score(z, c->argv[j].ptr, c->argv[j].len, &score)) {
            reply_null(c);
            continue;
        }
        /* The standard geohash: the same cell re-encoded over +-90. */
        geo_decode((uint64_t)score, &lon, &lat);
        uint64_t bits = geo_encode(lon, lat, -90.0, 90.0);
        char buf[11];
        for (int i = 0; i < 11; i++) {
            int idx = i == 10 ? 0 : (int)((bits >> (52 - ((i + 1) * 5))) & 0x1f);
            buf[i] = alphabet[idx];
        }
        reply_bulk(c, buf, 11);
    }
}

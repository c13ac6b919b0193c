/* Geo commands on sorted sets, as Redis 7.0: a point is a member whose
 * score is its 52-bit geohash (26 bits of latitude over +-85.05112878 and
 * 26 of longitude over +-180, interleaved), so positions, hashes and
 * distances come out to the digit Redis prints.  GEOADD, GEOPOS, GEODIST
 * and GEOHASH; GEOSEARCH, GEOSEARCHSTORE and the older GEORADIUS,
 * GEORADIUSBYMEMBER and their _RO forms parse here and search in t_geo.c. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/notify.h"
#include "node/server.h"
#include "node/cmd_zset.h"
#include "node/t_geo.h"
#include "node/t_zset.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
        uint64_t bits = geo_encode(lon, lat, GEO_LAT_MIN, GEO_LAT_MAX, GEO_STEP_MAX);
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
    size_t l = geo_format_distance(buf, geo_distance(lon1, lat1, lon2, lat2) / to_meter);
    reply_bulk(c, buf, l);
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
        uint64_t bits = geo_encode(lon, lat, -90.0, 90.0, GEO_STEP_MAX);
        char buf[11];
        for (int i = 0; i < 11; i++) {
            int idx = i == 10 ? 0 : (int)((bits >> (52 - ((i + 1) * 5))) & 0x1f);
            buf[i] = alphabet[idx];
        }
        reply_bulk(c, buf, 11);
    }
}

/* ---- GEOSEARCH, GEOSEARCHSTORE, GEORADIUS* ---------------------------------- */

enum geo_search_flags {
    GEO_FROM_COORDS = 1 << 0,    /* GEORADIUS: lon lat radius unit */
    GEO_FROM_MEMBER = 1 << 1,    /* GEORADIUSBYMEMBER: member radius unit */
    GEO_NOSTORE = 1 << 2,        /* the _RO forms: no STORE/STOREDIST */
    GEO_SEARCH = 1 << 3,         /* GEOSEARCH's FROM.../BY... arguments */
    GEO_SEARCH_STORE = 1 << 4,   /* GEOSEARCHSTORE: dst src, STOREDIST flag */
};

/* Redis's getDoubleFromObjectOrReply: 0, or -1 after replying msg (or
 * the generic float error). */
static int
geo_parse_double(struct client *c, const struct resp_arg *a, const char *msg, double *out)
{
    if (util_str2d(a->ptr, a->len, out) != 0 || isnan(*out)) {
        reply_error(c, msg != NULL ? msg : "value is not a valid float");
        return -1;
    }
    return 0;
}

static int
geo_parse_lonlat(struct client *c, const struct resp_arg *a, double *lon, double *lat)
{
    if (geo_parse_double(c, &a[0], NULL, lon) != 0 || geo_parse_double(c, &a[1], NULL, lat) != 0) {
        return -1;
    }
    if (*lon < GEO_LON_MIN || *lon > GEO_LON_MAX || *lat < GEO_LAT_MIN || *lat > GEO_LAT_MAX) {
        reply_errorf(c, "-ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
        return -1;
    }
    return 0;
}

/* radius unit: the radius (in the unit) and the unit's meters. */
static int
geo_parse_radius(struct client *c, const struct resp_arg *a, struct geo_shape *s)
{
    double r;
    if (geo_parse_double(c, &a[0], "need numeric radius", &r) != 0) {
        return -1;
    }
    if (r < 0) {
        reply_error(c, "radius cannot be negative");
        return -1;
    }
    s->radius = r;
    if ((s->conversion = geo_unit(c, &a[1])) == 0) {
        return -1;
    }
    return 0;
}

/* width height unit. */
static int
geo_parse_box(struct client *c, const struct resp_arg *a, struct geo_shape *s)
{
    double w, h;
    if (geo_parse_double(c, &a[0], "need numeric width", &w) != 0
        || geo_parse_double(c, &a[1], "need numeric height", &h) != 0) {
        return -1;
    }
    if (h < 0 || w < 0) {
        reply_error(c, "height or width cannot be negative");
        return -1;
    }
    s->width = w;
    s->height = h;
    if ((s->conversion = geo_unit(c, &a[2])) == 0) {
        return -1;
    }
    return 0;
}

/* The position of member in z: 0, or -1 after replying Redis's error. */
static int
geo_member_pos(struct client *c, struct zset *z, const struct resp_arg *m, struct geo_shape *s)
{
    double score;
    if (!zset_score(z, m->ptr, m->len, &score)) {
        reply_error(c, "could not decode requested zset member");
        return -1;
    }
    geo_decode((uint64_t)score, &s->lon, &s->lat);
    return 0;
}

/* The stored result's effect: DEL dst, then ZADDs of at most 512 pairs. */
static void
geo_propagate_store(struct client *c, const struct resp_arg *dst, struct zset *z)
{
    struct resp_arg del[2] = {{"DEL", 3}, *dst};
    propagate_effect(c, 2, del);
    if (z == NULL) {
        return;
    }
    enum { CHUNK = 512 };
    struct resp_arg *argv = mem_alloc((2 + 2 * CHUNK) * sizeof(*argv));
    char (*scores)[32] = mem_alloc(CHUNK * sizeof(*scores));
    argv[0] = (struct resp_arg){"ZADD", 4};
    argv[1] = *dst;
    struct zset_iter it;
    zset_iter_init(&it, z, 0, 0);
    const char *m;
    size_t len, n = 0;
    double score;
    /* Integer members of a listpack live in the iterator's buffer until
     * the next step: keep their text beside the scores. */
    char (*ints)[LISTPACK_INT_BUF] = mem_alloc(CHUNK * sizeof(*ints));
    for (;;) {
        int more = zset_iter_next(&it, &m, &len, &score);
        if (more) {
            size_t sl = zset_score_text(scores[n], score);
            argv[2 + 2 * n] = (struct resp_arg){scores[n], sl};
            if (m == it.buf) {
                memcpy(ints[n], m, len);
                m = ints[n];
            }
            argv[3 + 2 * n] = (struct resp_arg){m, len};
            n++;
        }
        if ((!more && n > 0) || n == CHUNK) {
            propagate_effect(c, 2 + 2 * n, argv);
            n = 0;
        }
        if (!more) {
            break;
        }
    }
    mem_free(ints);
    mem_free(scores);
    mem_free(argv);
}

/* Store the first n points (distances already in the unit) under dst, or
 * delete dst when there are none; replies the count. */
static void
geo_store(struct client *c, const struct resp_arg *dst, struct geo_result *res, size_t n,
          int storedist, int search)
{
    if (n == 0) {
        if (db_delete(c->db, dst->ptr, dst->len)) {
            notify_keyspace_event(c->srv, NOTIFY_GENERIC, "del", dst->ptr, dst->len, c->db->id);
            geo_propagate_store(c, dst, NULL);
        }
        reply_int(c, 0);
        return;
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++) {
        maxlen = res->pts[i].len > maxlen ? res->pts[i].len : maxlen;
    }
    struct zset_limits lim = zset_limits_of(c);
    struct zset *z = zset_create(&lim, n, maxlen);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *m = geo_point_member(res, &res->pts[i], &len);
        unsigned out;
        double ns;
        zset_add(z, &lim, m, len, storedist ? res->pts[i].dist : res->pts[i].score, 0, &out, &ns);
    }
    /* The members were borrowed from the source, which may be dst: the
     * new set is complete before dst is replaced. */
    zset_store(c, dst, z, search ? "geosearchstore" : "georadiusstore");
    struct entry *e = db_lookup(c->db, dst->ptr, dst->len, LOOKUP_NOSTATS);
    geo_propagate_store(c, dst, e != NULL ? entry_obj(e) : NULL);
}

static void
geo_reply_points(struct client *c, struct geo_result *res, size_t n, double conversion,
                 int withdist, int withhash, int withcoord)
{
    int opts = withdist + withhash + withcoord;
    reply_array_len(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct geo_point *p = &res->pts[i];
        size_t len;
        const char *m = geo_point_member(res, p, &len);
        if (opts) {
            reply_array_len(c, opts + 1);
        }
        reply_bulk(c, m, len);
        if (withdist) {
            char buf[32];
            size_t l = geo_format_distance(buf, p->dist / conversion);
            reply_bulk(c, buf, l);
        }
        if (withhash) {
            reply_int(c, (long long)p->score);
        }
        if (withcoord) {
            reply_array_len(c, 2);
            geo_reply_coord(c, p->lon);
            geo_reply_coord(c, p->lat);
        }
    }
}

/* Redis's georadiusGeneric: the argument checks come in its order, so a
 * request with several mistakes gets the same error. */
static void
geo_search_generic(struct client *c, size_t srcidx, unsigned flags)
{
    const struct resp_arg *storekey = NULL;
    int storedist = 0;
    int err;
    struct zset *z = geo_lookup(c, &c->argv[srcidx], &err);
    if (err) {
        return;
    }
    size_t base;
    struct geo_shape shape = {0};
    if (flags & GEO_FROM_COORDS) {
        base = 6;
        shape.type = GEO_SHAPE_CIRCLE;
        if (geo_parse_lonlat(c, &c->argv[2], &shape.lon, &shape.lat) != 0
            || geo_parse_radius(c, &c->argv[4], &shape) != 0) {
            return;
        }
    } else if (flags & GEO_FROM_MEMBER) {
        base = 5;
        /* A missing key still parses the options (the reply depends on
         * STORE) but checks neither the member nor the radius. */
        if (z != NULL) {
            shape.type = GEO_SHAPE_CIRCLE;
            if (geo_member_pos(c, z, &c->argv[2], &shape) != 0
                || geo_parse_radius(c, &c->argv[3], &shape) != 0) {
                return;
            }
        }
    } else {
        base = 2;
        if (flags & GEO_SEARCH_STORE) {
            base = 3;
            storekey = &c->argv[1];
        }
    }

    int withdist = 0, withhash = 0, withcoord = 0, any = 0;
    int frommember = 0, fromloc = 0, byradius = 0, bybox = 0;
    int sort = 0; /* 1 ASC, 2 DESC */
    long long count = 0;
    int search = (flags & GEO_SEARCH) != 0;
    int canstore = !(flags & GEO_NOSTORE) && !search;
    for (size_t i = base; i < c->argc; i++) {
        const struct resp_arg *a = &c->argv[i];
        size_t left = c->argc - i - 1;
        if (geo_arg_is(a, "withdist")) {
            withdist = 1;
        } else if (geo_arg_is(a, "withhash")) {
            withhash = 1;
        } else if (geo_arg_is(a, "withcoord")) {
            withcoord = 1;
        } else if (geo_arg_is(a, "any")) {
            any = 1;
        } else if (geo_arg_is(a, "asc")) {
            sort = 1;
        } else if (geo_arg_is(a, "desc")) {
            sort = 2;
        } else if (geo_arg_is(a, "count") && left >= 1) {
            if (util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &count) != 0) {
                reply_not_integer(c);
                return;
            }
            if (count <= 0) {
                reply_error(c, "COUNT must be > 0");
                return;
            }
            i++;
        } else if (geo_arg_is(a, "store") && left >= 1 && canstore) {
            storekey = &c->argv[++i];
            storedist = 0;
        } else if (geo_arg_is(a, "storedist") && left >= 1 && canstore) {
            storekey = &c->argv[++i];
            storedist = 1;
        } else if (geo_arg_is(a, "storedist") && search && (flags & GEO_SEARCH_STORE)) {
            storedist = 1;
        } else if (geo_arg_is(a, "frommember") && left >= 1 && search && !fromloc) {
            if (z != NULL && geo_member_pos(c, z, &c->argv[i + 1], &shape) != 0) {
                return;
            }
            frommember = 1;
            i++;
        } else if (geo_arg_is(a, "fromlonlat") && left >= 2 && search && !frommember) {
            if (geo_parse_lonlat(c, &c->argv[i + 1], &shape.lon, &shape.lat) != 0) {
                return;
            }
            fromloc = 1;
            i += 2;
        } else if (geo_arg_is(a, "byradius") && left >= 2 && search && !bybox) {
            if (geo_parse_radius(c, &c->argv[i + 1], &shape) != 0) {
                return;
            }
            shape.type = GEO_SHAPE_CIRCLE;
            byradius = 1;
            i += 2;
        } else if (geo_arg_is(a, "bybox") && left >= 3 && search && !byradius) {
            if (geo_parse_box(c, &c->argv[i + 1], &shape) != 0) {
                return;
            }
            shape.type = GEO_SHAPE_BOX;
            bybox = 1;
            i += 3;
        } else {
            reply_syntax_error(c);
            return;
        }
    }

    if (storekey != NULL && (withdist || withhash || withcoord)) {
        reply_errorf(c, "-ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     (flags & GEO_SEARCH_STORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return;
    }
    const struct resp_arg *name = &c->argv[0];
    if (search && !(frommember || fromloc)) {
        reply_errorf(c, "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                     (int)name->len, name->ptr);
        return;
    }
    if (search && !(byradius || bybox)) {
        reply_errorf(c, "-ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                     (int)name->len, name->ptr);
        return;
    }
    if (any && !count) {
        reply_error(c, "the ANY argument requires COUNT argument");
        return;
    }

    if (z == NULL) {
        if (storekey != NULL) {
            struct geo_result none = {0};
            geo_store(c, storekey, &none, 0, storedist, search);
        } else {
            reply_array_len(c, 0);
        }
        return;
    }
    /* COUNT without an order means the nearest ones (not with ANY). */
    if (count != 0 && sort == 0 && !any) {
        sort = 1;
    }

    struct geo_result res = {0};
    geo_search(z, &shape, any ? (size_t)count : 0, &res);
    if (res.n == 0 && storekey == NULL) {
        reply_array_len(c, 0);
        geo_result_free(&res);
        return;
    }
    size_t n = (count == 0 || res.n < (unsigned long long)count) ? res.n : (size_t)count;
    if (sort != 0) {
        geo_sort(&res, sort == 2, n);
    }
    if (storekey == NULL) {
        geo_reply_points(c, &res, n, shape.conversion, withdist, withhash, withcoord);
    } else {
        for (size_t i = 0; i < n; i++) {
            res.pts[i].dist /= shape.conversion;
        }
        geo_store(c, storekey, &res, n, storedist, search);
    }
    geo_result_free(&res);
}

void
cmd_georadius(struct client *c)
{
    geo_search_generic(c, 1, GEO_FROM_COORDS);
}

void
cmd_georadiusbymember(struct client *c)
{
    geo_search_generic(c, 1, GEO_FROM_MEMBER);
}

void
cmd_georadius_ro(struct client *c)
{
    geo_search_generic(c, 1, GEO_FROM_COORDS | GEO_NOSTORE);
}

void
cmd_georadiusbymember_ro(struct client *c)
{
    geo_search_generic(c, 1, GEO_FROM_MEMBER | GEO_NOSTORE);
}

void
cmd_geosearch(struct client *c)
{
    geo_search_generic(c, 1, GEO_SEARCH);
}

void
cmd_geosearchstore(struct client *c)
{
    geo_search_generic(c, 2, GEO_SEARCH | GEO_SEARCH_STORE);
}

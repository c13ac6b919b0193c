/* Binds command ids to handlers.  A command in the shared table without a
 * handler here answers the unknown-command error on the node. */
#include "node/handlers.h"

static const cmd_handler_fn handlers[CMD_ID__COUNT] = {
    [CMD_ID_GET] = cmd_get,
    [CMD_ID_SET] = cmd_set,
    [CMD_ID_SETNX] = cmd_setnx,
    [CMD_ID_SETEX] = cmd_setex,
    [CMD_ID_PSETEX] = cmd_psetex,
    [CMD_ID_GETSET] = cmd_getset,
    [CMD_ID_GETDEL] = cmd_getdel,
    [CMD_ID_GETEX] = cmd_getex,
    [CMD_ID_MGET] = cmd_mget,
    [CMD_ID_MSET] = cmd_mset,
    [CMD_ID_MSETNX] = cmd_msetnx,
    [CMD_ID_APPEND] = cmd_append,
    [CMD_ID_STRLEN] = cmd_strlen,
    [CMD_ID_GETRANGE] = cmd_getrange,
    [CMD_ID_SUBSTR] = cmd_getrange,
    [CMD_ID_SETRANGE] = cmd_setrange,
    [CMD_ID_INCR] = cmd_incr,
    [CMD_ID_DECR] = cmd_decr,
    [CMD_ID_INCRBY] = cmd_incrby,
    [CMD_ID_DECRBY] = cmd_decrby,
    [CMD_ID_INCRBYFLOAT] = cmd_incrbyfloat,

    /* bitmaps, HyperLogLog, LCS */
    [CMD_ID_SETBIT] = cmd_setbit,
    [CMD_ID_GETBIT] = cmd_getbit,
    [CMD_ID_BITCOUNT] = cmd_bitcount,
    [CMD_ID_BITPOS] = cmd_bitpos,
    [CMD_ID_BITOP] = cmd_bitop,
    [CMD_ID_BITFIELD] = cmd_bitfield,
    [CMD_ID_BITFIELD_RO] = cmd_bitfield_ro,
    [CMD_ID_LCS] = cmd_lcs,
    [CMD_ID_PFADD] = cmd_pfadd,
    [CMD_ID_PFCOUNT] = cmd_pfcount,
    [CMD_ID_PFMERGE] = cmd_pfmerge,
    [CMD_ID_PFDEBUG] = cmd_pfdebug,
    [CMD_ID_PFSELFTEST] = cmd_pfselftest,

    /* lists */
    [CMD_ID_LPUSH] = cmd_lpush,
    [CMD_ID_RPUSH] = cmd_rpush,
    [CMD_ID_LPUSHX] = cmd_lpushx,
    [CMD_ID_RPUSHX] = cmd_rpushx,
    [CMD_ID_LPOP] = cmd_lpop,
    [CMD_ID_RPOP] = cmd_rpop,
    [CMD_ID_LLEN] = cmd_llen,
    [CMD_ID_LRANGE] = cmd_lrange,
    [CMD_ID_LINDEX] = cmd_lindex,
    [CMD_ID_LSET] = cmd_lset,
    [CMD_ID_LINSERT] = cmd_linsert,
    [CMD_ID_LREM] = cmd_lrem,
    [CMD_ID_LTRIM] = cmd_ltrim,
    [CMD_ID_LPOS] = cmd_lpos,
    [CMD_ID_LMOVE] = cmd_lmove,
    [CMD_ID_RPOPLPUSH] = cmd_rpoplpush,
    [CMD_ID_LMPOP] = cmd_lmpop,
    [CMD_ID_BLPOP] = cmd_blpop,
    [CMD_ID_BRPOP] = cmd_brpop,
    [CMD_ID_BLMOVE] = cmd_blmove,
    [CMD_ID_BRPOPLPUSH] = cmd_brpoplpush,
    [CMD_ID_BLMPOP] = cmd_blmpop,

    /* hashes */

    /* sets */

    /* sorted sets */

    /* (end of collections) */

    [CMD_ID_DEL] = cmd_del,
    [CMD_ID_UNLINK] = cmd_unlink,
    [CMD_ID_EXISTS] = cmd_exists,
    [CMD_ID_TOUCH] = cmd_touch,
    [CMD_ID_TYPE] = cmd_type,
    [CMD_ID_RENAME] = cmd_rename,
    [CMD_ID_RENAMENX] = cmd_renamenx,
    [CMD_ID_EXPIRE] = cmd_expire,
    [CMD_ID_PEXPIRE] = cmd_pexpire,
    [CMD_ID_EXPIREAT] = cmd_expireat,
    [CMD_ID_PEXPIREAT] = cmd_pexpireat,
    [CMD_ID_TTL] = cmd_ttl,
    [CMD_ID_PTTL] = cmd_pttl,
    [CMD_ID_EXPIRETIME] = cmd_expiretime,
    [CMD_ID_PEXPIRETIME] = cmd_pexpiretime,
    [CMD_ID_PERSIST] = cmd_persist,
    [CMD_ID_KEYS] = cmd_keys,
    [CMD_ID_SCAN] = cmd_scan,
    [CMD_ID_RANDOMKEY] = cmd_randomkey,
    [CMD_ID_DBSIZE] = cmd_dbsize,
    [CMD_ID_FLUSHDB] = cmd_flushdb,
    [CMD_ID_FLUSHALL] = cmd_flushall,
    [CMD_ID_SELECT] = cmd_select,
    [CMD_ID_SWAPDB] = cmd_swapdb,
    [CMD_ID_MOVE] = cmd_move,
    [CMD_ID_COPY] = cmd_copy,
    [CMD_ID_OBJECT_ENCODING] = cmd_object_encoding,
    [CMD_ID_OBJECT_FREQ] = cmd_object_freq,
    [CMD_ID_OBJECT_IDLETIME] = cmd_object_idletime,
    [CMD_ID_OBJECT_REFCOUNT] = cmd_object_refcount,
    [CMD_ID_OBJECT_HELP] = cmd_object_help,
    [CMD_ID_MEMORY_USAGE] = cmd_memory_usage,
    [CMD_ID_MEMORY_STATS] = cmd_memory_stats,
    [CMD_ID_MEMORY_HELP] = cmd_memory_help,

    [CMD_ID_PING] = cmd_ping,
    [CMD_ID_ECHO] = cmd_echo,
    [CMD_ID_QUIT] = cmd_quit,
    [CMD_ID_RESET] = cmd_reset,
    [CMD_ID_AUTH] = cmd_auth,
    [CMD_ID_HELLO] = cmd_hello,
    [CMD_ID_CLIENT_ID] = cmd_client_id,
    [CMD_ID_CLIENT_SETNAME] = cmd_client_setname,
    [CMD_ID_CLIENT_GETNAME] = cmd_client_getname,
    [CMD_ID_CLIENT_LIST] = cmd_client_list,
    [CMD_ID_CLIENT_INFO] = cmd_client_info,
    [CMD_ID_CLIENT_KILL] = cmd_client_kill,
    [CMD_ID_CLIENT_SETINFO] = cmd_client_setinfo,
    [CMD_ID_CLIENT_NO_EVICT] = cmd_client_no_evict,
    [CMD_ID_CLIENT_PAUSE] = cmd_client_pause,
    [CMD_ID_CLIENT_UNPAUSE] = cmd_client_unpause,
    [CMD_ID_CLIENT_UNBLOCK] = cmd_client_unblock,
    [CMD_ID_CLIENT_HELP] = cmd_client_help,

    [CMD_ID_COMMAND] = cmd_command,
    [CMD_ID_COMMAND_COUNT] = cmd_command_count,
    [CMD_ID_COMMAND_INFO] = cmd_command_info,
    [CMD_ID_COMMAND_DOCS] = cmd_command_docs,
    [CMD_ID_COMMAND_LIST] = cmd_command_list,
    [CMD_ID_COMMAND_GETKEYS] = cmd_command_getkeys,
    [CMD_ID_COMMAND_HELP] = cmd_command_help,
    [CMD_ID_TIME] = cmd_time,
    [CMD_ID_ROLE] = cmd_role,
    [CMD_ID_INFO] = cmd_info,
    [CMD_ID_CONFIG_GET] = cmd_config_get,
    [CMD_ID_CONFIG_SET] = cmd_config_set,
    [CMD_ID_CONFIG_RESETSTAT] = cmd_config_resetstat,
    [CMD_ID_CONFIG_REWRITE] = cmd_config_rewrite,
    [CMD_ID_CONFIG_HELP] = cmd_config_help,
    [CMD_ID_SLOWLOG_GET] = cmd_slowlog_get,
    [CMD_ID_SLOWLOG_LEN] = cmd_slowlog_len,
    [CMD_ID_SLOWLOG_RESET] = cmd_slowlog_reset,
    [CMD_ID_SLOWLOG_HELP] = cmd_slowlog_help,
    [CMD_ID_SHUTDOWN] = cmd_shutdown,
    [CMD_ID_SAVE] = cmd_save,
    [CMD_ID_BGSAVE] = cmd_bgsave,
    [CMD_ID_LASTSAVE] = cmd_lastsave,
    [CMD_ID_BGREWRITEAOF] = cmd_bgrewriteaof,
    [CMD_ID_REPLICAOF] = cmd_replicaof,
    [CMD_ID_SLAVEOF] = cmd_replicaof,
    [CMD_ID_PSYNC] = cmd_psync,
    [CMD_ID_SYNC] = cmd_sync,
    [CMD_ID_REPLCONF] = cmd_replconf,
    [CMD_ID_WAIT] = cmd_wait,
    [CMD_ID_DEBUG] = cmd_debug,
};

cmd_handler_fn
handlers_get(enum cmd_id id)
{
    return id >= 0 && id < CMD_ID__COUNT ? handlers[id] : 0;
}

int
handlers_implements(const struct command *cmd)
{
    if (handlers_get(cmd->id) != NULL) {
        return 1;
    }
    for (size_t i = 0; i < cmd->nsubs; i++) {
        if (handlers_get(cmd->subs[i]->id) != NULL) {
            return 1;
        }
    }
    return 0;
}

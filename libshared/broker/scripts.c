/* scripts.c: the Lua scripts that change a batch on the server, each one atomic (docs/broker.md). */
#include "broker_int.h"

/*
 * A script runs alone on the server: nothing else happens between its
 * commands, and under appendfsync always its effects reach the append-only
 * file together.  That is what makes "acknowledge, delete, give the bytes
 * back to the window, and see whether the batch is complete" one step.
 *
 * KEYS of the scripts that change the batch, always in this order:
 *   1 meta (hash), 2 stream, 3 done marker, 4 hosts (set), 5 doorbell (list),
 *   6 the file's stream (PUT, ACK; the stream itself when there is none)
 * ARGV[1] is the batch id the caller joined, ARGV[2] the done marker's TTL.
 * A script that finds another id (or none) in meta returns -1: the batch
 * the caller joined is gone (the server lost it, or it was removed and
 * made again); the caller then tells that from a complete batch by the
 * done marker, which holds the id of the batch that completed.
 *
 * complete(): every expected producer sealed and the stream empty (every
 * entry is deleted when acknowledged) means the batch is complete: its
 * keys go, and the marker (with a TTL, as the hosts' set gets) stays for
 * the hosts still at work: until the last of them leaves, a consumer
 * that comes joins the complete batch (and sweeps, and leaves) instead of
 * making a new one, and a producer is told the batch is complete.
 */
#define COMPLETE \
	"local function complete()\n" \
	"  local c = redis.call('HMGET', KEYS[1], 'producers', 'sealed')\n" \
	"  if not c[1] or tonumber(c[2]) < tonumber(c[1]) then return 0 end\n" \
	"  if redis.call('XLEN', KEYS[2]) > 0 then return 0 end\n" \
	"  redis.call('DEL', KEYS[1], KEYS[2], KEYS[5])\n" \
	"  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])\n" \
	"  redis.call('EXPIRE', KEYS[4], ARGV[2])\n" \
	"  return 1\n" \
	"end\n"

const char *const bk_scripts[BK_NSCRIPTS] = {
	/* OPEN: ARGV 3 producers, 4 a new id, 5 the group, 6 the id to join
	 * ('': any), 7 the consumer host joining ('': a producer or a
	 * worker).  Creates the batch if there is none and no complete one
	 * (unless ARGV 6); adds the host to the hosts' set in the same step,
	 * so that the last host out cannot delete a complete batch's marker
	 * between this host's open and its workers' (nor leave a set without
	 * its TTL).  Returns {0, id, producers, sealed}; {1, id, 0, 0} for a
	 * host that joined a complete batch whose hosts are still leaving;
	 * {-3} if the batch to join (ARGV 6, or any for a producer) is
	 * complete; {-1} if the one of ARGV 6 is gone; {-2} for a state not of
	 * this version or without its stream. */
	[BK_OPEN] =
	"local id = redis.call('HGET', KEYS[1], 'id')\n"
	"local done = redis.call('GET', KEYS[3])\n"
	"if ARGV[6] ~= '' and id ~= ARGV[6] then\n"
	"  if done == ARGV[6] then return {-3} end\n"
	"  return {-1}\n"
	"end\n"
	"if not id and done then\n"
	"  if ARGV[7] == '' then return {-3} end\n"
	"  redis.call('SADD', KEYS[4], ARGV[7])\n"
	"  redis.call('EXPIRE', KEYS[3], ARGV[2])\n"
	"  redis.call('EXPIRE', KEYS[4], ARGV[2])\n"
	"  return {1, done, 0, 0}\n"
	"end\n"
	"if not id then\n"
	"  redis.call('HSET', KEYS[1], 'id', ARGV[4], 'v', '" BK_VERSION "', 'producers', ARGV[3],\n"
	"             'sealed', '0', 'bytes', '0')\n"
	"  redis.call('DEL', KEYS[2], KEYS[4], KEYS[5])\n"
	"  redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[5], '0', 'MKSTREAM')\n"
	"end\n"
	"local h = redis.call('HMGET', KEYS[1], 'v', 'id', 'producers', 'sealed')\n"
	"if h[1] ~= '" BK_VERSION "' or redis.call('EXISTS', KEYS[2]) == 0 then return {-2} end\n"
	"if ARGV[7] ~= '' then redis.call('SADD', KEYS[4], ARGV[7]) end\n"
	"return {0, h[2], tonumber(h[3]), tonumber(h[4])}\n",

	/* PUT: ARGV 3 producer id, 4 its put number, 5 window, 6 mode
	 * ('r' a record on the stream, 'a' announce file ARGV 8 and put the
	 * record on its stream, 'p' a further record of that file), 7 the
	 * record, 8 the file id.  Returns {0, bytes} (put, or put already:
	 * a put number seen before is not put again), {1, bytes} (the
	 * window is full: nothing put), {-1} (gone), {-2} (closed). */
	[BK_PUT] =
	"local m = KEYS[1]\n"
	"local h = redis.call('HMGET', m, 'id', 'producers', 'sealed', 'bytes', 'p:' .. ARGV[3])\n"
	"if h[1] ~= ARGV[1] then return {-1} end\n"
	"local bytes = tonumber(h[4])\n"
	"if h[5] and tonumber(h[5]) >= tonumber(ARGV[4]) then return {0, bytes} end\n"
	"if tonumber(h[3]) >= tonumber(h[2]) then return {-2} end\n"
	"if ARGV[6] ~= 'p' and bytes > tonumber(ARGV[5]) then return {1, bytes} end\n"
	"local len = #ARGV[7]\n"
	"if ARGV[6] == 'r' then\n"
	"  redis.call('XADD', KEYS[2], '*', 'r', ARGV[7])\n"
	"else\n"
	"  if ARGV[6] == 'a' then\n"
	"    redis.call('XADD', KEYS[2], '*', 'f', ARGV[8])\n"
	"    len = len + #ARGV[8]\n"
	"  end\n"
	"  redis.call('XADD', KEYS[6], '*', 'r', ARGV[7])\n"
	"  redis.call('HINCRBY', m, 'f:' .. ARGV[8], #ARGV[7])\n"
	"end\n"
	"redis.call('HSET', m, 'p:' .. ARGV[3], ARGV[4])\n"
	"return {0, redis.call('HINCRBY', m, 'bytes', len)}\n",

	/* SEAL: ARGV 3 producer id.  Counted once per producer; a seal sent
	 * again after the batch completed (its reply lost with a connection,
	 * and the seal completed it, or the last ack came meanwhile) finds
	 * the marker.  Returns 1 (the batch is complete), 0, or -1. */
	[BK_SEAL] =
	COMPLETE
	"if redis.call('GET', KEYS[3]) == ARGV[1] then return 1 end\n"
	"local h = redis.call('HMGET', KEYS[1], 'id', 's:' .. ARGV[3])\n"
	"if h[1] ~= ARGV[1] then return -1 end\n"
	"if not h[2] then\n"
	"  redis.call('HSET', KEYS[1], 's:' .. ARGV[3], '1')\n"
	"  redis.call('HINCRBY', KEYS[1], 'sealed', 1)\n"
	"end\n"
	"return complete()\n",

	/* ACK: ARGV 3 group, 4 entry id, 5 its bytes, 6 its file id or ''.
	 * An entry acknowledged already changes nothing.  Returns 1
	 * (complete), 0, or -1. */
	[BK_ACK] =
	COMPLETE
	"if redis.call('GET', KEYS[3]) == ARGV[1] then return 1 end\n"
	"if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return -1 end\n"
	"if redis.call('XACK', KEYS[2], ARGV[3], ARGV[4]) == 1 then\n"
	"  redis.call('XDEL', KEYS[2], ARGV[4])\n"
	"  local b = tonumber(ARGV[5])\n"
	"  if ARGV[6] ~= '' then\n"
	"    b = b + tonumber(redis.call('HGET', KEYS[1], 'f:' .. ARGV[6]) or 0)\n"
	"    redis.call('HDEL', KEYS[1], 'f:' .. ARGV[6])\n"
	"    redis.call('DEL', KEYS[6])\n"
	"  end\n"
	"  if redis.call('HINCRBY', KEYS[1], 'bytes', -b) < 0 then\n"
	"    redis.call('HSET', KEYS[1], 'bytes', '0')\n"
	"  end\n"
	"  redis.call('LPUSH', KEYS[5], '1')\n"
	"  redis.call('LTRIM', KEYS[5], 0, 0)\n"
	"end\n"
	"return complete()\n",

	/* CHECK: returns 1 (complete), 0, or -1. */
	[BK_CHECK] =
	COMPLETE
	"if redis.call('GET', KEYS[3]) == ARGV[1] then return 1 end\n"
	"if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return -1 end\n"
	"return complete()\n",

	/* KEEP: KEYS 1 stream, 2 the host's lease (or the stream: none);
	 * ARGV 1 group, 2 lease token ('': none), 3 its time (ms), then pairs
	 * (member, entry id).  Renews the lease (takes it again if it lapsed
	 * and nobody took it), and resets the idle time of each entry that
	 * member still holds (not of one claimed by another meanwhile).
	 * Returns the count, or -1 (after the entries) if the lease is
	 * another's. */
	[BK_KEEP] =
	"local n = 0\n"
	"for i = 4, #ARGV - 1, 2 do\n"
	"  local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[i + 1], ARGV[i + 1], 1, ARGV[i])\n"
	"  if type(p) == 'table' and #p == 1 then\n"
	"    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[i], 0, ARGV[i + 1], 'JUSTID')\n"
	"    n = n + 1\n"
	"  end\n"
	"end\n"
	"if ARGV[2] ~= '' then\n"
	"  local v = redis.call('GET', KEYS[2])\n"
	"  if v and v ~= ARGV[2] then return -1 end\n"
	"  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
	"end\n"
	"return n\n",

	/* LEAVE: KEYS 1 meta, 2 done marker, 3 hosts, 4 the host's lease;
	 * ARGV 1 the batch id, 2 this host, 3 its lease token.  Gives the
	 * lease back (if still ours), and leaves the batch joined, if it is
	 * still there (the set may be another incarnation's by now); the
	 * last host out of a complete batch deletes what is left of it.  A
	 * name whose lease another handle holds is that consumer's now (we
	 * were stopped longer than the lease): it stays in the set for it. */
	[BK_LEAVE] =
	"local l = redis.call('GET', KEYS[4])\n"
	"if l == ARGV[3] then redis.call('DEL', KEYS[4])\n"
	"elseif l then return 0 end\n"
	"local live = redis.call('HGET', KEYS[1], 'id') == ARGV[1]\n"
	"local done = redis.call('GET', KEYS[2]) == ARGV[1]\n"
	"if not live and not done then return 0 end\n"
	"redis.call('SREM', KEYS[3], ARGV[2])\n"
	"if done and redis.call('SCARD', KEYS[3]) == 0 then\n"
	"  redis.call('DEL', KEYS[2], KEYS[3])\n"
	"end\n"
	"return 0\n",

	/* LEASE: KEYS 1 the host's lease; ARGV 1 token, 2 its time (ms).
	 * Takes the lease, or renews ours.  Returns 0, or the milliseconds
	 * another's has left (at least 1). */
	[BK_LEASE] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if v and v ~= ARGV[1] then\n"
	"  local t = redis.call('PTTL', KEYS[1])\n"
	"  if t < 1 then t = 1 end\n"
	"  return t\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"return 0\n",
};

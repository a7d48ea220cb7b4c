/* url.c: parses a --broker URL (redis://HOST:PORT/NAME, unix:///PATH?stream=NAME). */
#include "broker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A batch name has the ring names' alphabet, so that one name means the
 * same batch on either transport, and so that it is safe in a key. */
static int name_ok(const char *s, size_t len)
{
	if (len == 0 || len > SP_BROKER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(dst, src, len);
	dst[len] = 0;
	return 0;
}

static int bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EINVAL;
}

/* [USER]:PASSWORD@ at the start of s (no percent-decoding).  Advances *s
 * past it; returns 0, or -EINVAL. */
static int userinfo(const char **s, const char *end, struct sp_broker_url *u, const char **why)
{
	const char *at = memchr(*s, '@', (size_t)(end - *s));
	const char *colon;

	if (!at)
		return 0;
	colon = memchr(*s, ':', (size_t)(at - *s));
	if (!colon)
		return bad(why, "credentials must be [USER]:PASSWORD@");
	if (copy(u->user, sizeof(u->user), *s, (size_t)(colon - *s)) < 0 ||
	    copy(u->pass, sizeof(u->pass), colon + 1, (size_t)(at - colon - 1)) < 0)
		return bad(why, "user or password too long");
	if (!u->pass[0])
		return bad(why, "empty password");
	*s = at + 1;
	return 0;
}

int sp_broker_url_parse(const char *url, struct sp_broker_url *u, const char **why)
{
	const char *s, *end;

	memset(u, 0, sizeof(*u));
	if (!url)
		return bad(why, "no URL");
	end = url + strlen(url);
	if (strncmp(url, "redis://", 8) == 0) {
		const char *slash, *hend, *p;

		s = url + 8;
		slash = memchr(s, '/', (size_t)(end - s));
		if (!slash)
			return bad(why, "expected redis://HOST[:PORT]/NAME");
		if (userinfo(&s, slash, u, why) < 0)
			return -EINVAL;
		if (*s == '[') {
			/* [IPv6]:PORT */
			const char *rb = memchr(s, ']', (size_t)(slash - s));

			if (!rb)
				return bad(why, "unclosed [ in the host");
			if (copy(u->host, sizeof(u->host), s + 1, (size_t)(rb - s - 1)) < 0)
				return bad(why, "host too long");
			p = rb + 1;
			if (p < slash && *p != ':')
				return bad(why, "expected :PORT after ]");
		} else {
			hend = memchr(s, ':', (size_t)(slash - s));
			p = hend ? hend : slash;
			if (copy(u->host, sizeof(u->host), s, (size_t)(p - s)) < 0)
				return bad(why, "host too long");
		}
		if (!u->host[0])
			return bad(why, "no host");
		u->port = 6379;
		if (p < slash && *p == ':') {
			char num[8], *e;
			long v;

			if (copy(num, sizeof(num), p + 1, (size_t)(slash - p - 1)) < 0 || !num[0])
				return bad(why, "bad port");
			v = strtol(num, &e, 10);
			if (*e || v < 1 || v > 65535)
				return bad(why, "bad port (1-65535)");
			u->port = (int)v;
		}
		s = slash + 1;
		if (!name_ok(s, (size_t)(end - s)))
			return bad(why, "bad stream name (1-100 characters of [A-Za-z0-9._-])");
		memcpy(u->name, s, (size_t)(end - s) + 1);
		return 0;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		const char *q, *name;

		s = url + 7;
		q = strchr(s, '?');
		if (!q || strncmp(q, "?stream=", 8) != 0)
			return bad(why, "expected unix:///PATH?stream=NAME");
		if (userinfo(&s, q, u, why) < 0)
			return -EINVAL;
		if (*s != '/')
			return bad(why, "the socket's path must be absolute (unix:///PATH)");
		if (copy(u->path, sizeof(u->path), s, (size_t)(q - s)) < 0)
			return bad(why, "socket path too long");
		name = q + 8;
		if (!name_ok(name, (size_t)(end - name)))
			return bad(why, "bad stream name (1-100 characters of [A-Za-z0-9._-])");
		memcpy(u->name, name, (size_t)(end - name) + 1);
		u->is_unix = 1;
		return 0;
	}
	return bad(why, "expected redis://HOST[:PORT]/NAME or unix:///PATH?stream=NAME");
}

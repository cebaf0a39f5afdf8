/*
 * alert.c - operator alerts published to SNS, deduplicated through an
 * outbox in the state database.
 *
 * Why an outbox: the condition and its message must survive a restart and
 * an SNS outage independently. A raise is one INSERT (nothing if the key is
 * raised already), a clear one UPDATE, and the flush turns rows into
 * Publish calls; a row's raise is marked sent, and the row is deleted only
 * once its cleared message is out. The set of raised keys is also kept in
 * memory, so the hooks on hot paths (every job transition, every poll) cost
 * a binary search and never touch the database unless something changes.
 *
 * Everything that reaches a message from AWS or from a queue message is
 * untrusted: the text loses control characters and invalid UTF-8, the JSON
 * is built with jansson, the Subject is printable ASCII. No secret key or
 * token is ever handed to this module; what an AWS error may quote of a
 * request's signature (Credential=<access key id>/..., Signature=...) is
 * removed by the same cleaning.
 *
 * The daemon loop calls the flush several times per turn, so its limits
 * are per turn (ob_alerts_begin_turn()): a black-holed SNS costs one
 * Publish attempt of OB_ALERT_PUBLISH_TIMEOUT_MS per backoff interval, and
 * a burst at most OB_ALERT_FLUSH_ROWS rows per turn.
 */
#include "ob/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ob/log.h"
#include "ob/sns.h"

#define SCHEMA "offsite-backup-alert/1"
#define TEXT_MAX 4096     /* the human-readable part of one message */
#define PRUNE_EVERY_MS (3600 * 1000)
#define MARKS_MAX 16      /* messages out whose "sent" mark is owed */

/* A message SNS took whose row could not be marked sent: not published
 * again while the store recovers (the mark is tried again instead). */
struct owed_mark {
	char *key;
	bool cleared;     /* the cleared message (else the raise) */
	int64_t at_ms;    /* the row's raised_at / cleared_at */
};

struct ob_alerts {
	struct ob_store *store;
	struct ob_aws *aws;
	const struct ob_clock *clock;
	char *topic;          /* "" = off */
	char role[16];
	char account[16];
	char region[32];
	char host[64];
	char **active;        /* sorted raised keys */
	size_t n_active, cap_active;
	bool pending;         /* the outbox may hold something to send */
	int64_t retry_at_ms;  /* no publish before this (backoff) */
	int64_t backoff_ms;
	bool failing;         /* a publish failed and was logged */
	int64_t next_prune_ms;
	int64_t after_ms;
	size_t turn_rows;     /* rows looked at this turn */
	bool turn_failed;     /* a publish failed this turn: no more tries */
	struct owed_mark marks[MARKS_MAX];
	size_t n_marks;
	uint64_t *known;      /* open addressing, 2 * OB_ALERT_KNOWN_MAX slots; 0 = empty */
	size_t n_known;
};

/* ---- text hygiene ------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (left bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;
	unsigned c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The length of the value after "Credential=" / "Signature=": up to a
 * separator (',', ' ', quote, '&', ';', a control character). */
static size_t sig_value_len(const char *v)
{
	size_t n = 0;

	while (v[n] != '\0' && v[n] != ',' && v[n] != ' ' && v[n] != '"' && v[n] != '\'' &&
	       v[n] != '&' && v[n] != ';' && (unsigned char)v[n] >= 0x20)
		n++;
	return n;
}

/* src without signing material: the values of Credential= and Signature=
 * (an IncompleteSignature error quotes the Authorization header) and
 * access key ids (AKIA/ASIA + 16) become "[removed]". malloc'ed, or NULL. */
static char *scrub(const char *src)
{
	static const char *const names[] = { "Credential=", "Signature=" };
	size_t len = strlen(src), o = 0, i, k, n;
	char *out = malloc(2 * len + 32);

	if (out == NULL)
		return NULL;
	for (i = 0; i < len;) {
		for (k = 0; k < 2; k++) {
			size_t nl = strlen(names[k]);

			if (strncasecmp(src + i, names[k], nl) == 0 &&
			    (n = sig_value_len(src + i + nl)) > 0) {
				memcpy(out + o, src + i, nl);
				o += nl;
				memcpy(out + o, "[removed]", 9);
				o += 9;
				i += nl + n;
				break;
			}
		}
		if (k < 2)
			continue;
		if (len - i >= 20 && (strncmp(src + i, "AKIA", 4) == 0 ||
				      strncmp(src + i, "ASIA", 4) == 0) &&
		    (i == 0 || !key_char(src[i - 1])) && !key_char(src[i + 20])) {
			for (n = 4; n < 20 && key_char(src[i + n]); n++)
				;
			if (n == 20) {
				memcpy(out + o, "[removed]", 9);
				o += 9;
				i += 20;
				continue;
			}
		}
		out[o++] = src[i++];
	}
	out[o] = '\0';
	return out;
}

/* Copy src into out (size > 0) without signing material (scrub()): valid
 * UTF-8 only (else '?'), control characters dropped (keep_lines keeps \n
 * and \t), cut at a character boundary. */
static void clean(char *out, size_t size, const char *src, bool keep_lines)
{
	char *scrubbed = scrub(src ? src : "");
	const unsigned char *s = (const unsigned char *)(scrubbed ? scrubbed
						 : "(text not available: out of memory)");
	size_t left = strlen((const char *)s), o = 0, n;

	while (left > 0) {
		n = utf8_seq(s, left);
		if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f) &&
		    !(keep_lines && (s[0] == '\n' || s[0] == '\t'))) {
			s++;
			left--;
			continue;
		}
		if (n == 0) {
			if (o + 1 >= size)
				break;
			out[o++] = '?';
			s++;
			left--;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s, n);
		o += n;
		s += n;
		left -= n;
	}
	out[o] = '\0';
	free(scrubbed);
}

void ob_alert_clean_text(char *out, size_t size, const char *text)
{
	if (size == 0)
		return;
	clean(out, size, text, true);
}

void ob_alert_set(json_t *o, const char *name, const char *v)
{
	char buf[OB_ALERT_FIELD_MAX + 1];

	if (o == NULL || name == NULL || v == NULL)
		return;
	clean(buf, sizeof(buf), v, false);
	json_object_set_new(o, name, json_string(buf));
}

void ob_alert_subject(char *out, const char *role, const char *account, const char *summary,
		      bool cleared)
{
	char raw[512];
	size_t i, o = 0;

	snprintf(raw, sizeof(raw), "offsite-backup %s %s: %s%s", role ? role : "?",
		 account ? account : "?", cleared ? "resolved: " : "", summary ? summary : "");
	for (i = 0; raw[i] != '\0'; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c >= 0x80) {
			/* One '?' per UTF-8 character, not per byte. */
			if ((c & 0xc0) == 0x80)
				continue;
			c = '?';
		} else if (c < 0x20 || c == 0x7f) {
			c = ' ';
		}
		raw[o++] = (char)c;
	}
	raw[o] = '\0';
	if (o > OB_ALERT_SUBJECT_MAX) {
		memcpy(out, raw, OB_ALERT_SUBJECT_MAX - 3);
		memcpy(out + OB_ALERT_SUBJECT_MAX - 3, "...", 4);
	} else {
		memcpy(out, raw, o + 1);
	}
}

bool ob_alert_creds_error(const struct ob_error *err)
{
	static const char *const codes[] = {
		"InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
		"ExpiredTokenException", "SignatureDoesNotMatch", "InvalidAccessKeyId",
		"AuthFailure", "InvalidSecurity", "IncompleteSignature", "MissingAuthenticationToken",
		"InvalidToken", "TokenRefreshRequired", "RequestExpired", NULL,
	};
	size_t i;

	if (err == NULL)
		return false;
	if (err->kind == OB_ERR_CREDS)
		return true;
	if (err->kind != OB_ERR_AWS)
		return false;
	for (i = 0; codes[i] != NULL; i++)
		if (strcmp(err->aws_code, codes[i]) == 0)
			return true;
	return false;
}

/* ---- the set of raised keys ----------------------------------------------- */

/* Index of key in a->active, or where it would go (*found false). */
static size_t find(const struct ob_alerts *a, const char *key, bool *found)
{
	size_t lo = 0, hi = a->n_active, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(a->active[mid], key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Add key; -1 when out of memory (the caller only loses the dedup cache:
 * the store still dedups). */
static int remember(struct ob_alerts *a, const char *key)
{
	bool found;
	size_t at = find(a, key, &found);
	char *copy;

	if (found)
		return 0;
	if (a->n_active == a->cap_active) {
		size_t cap = a->cap_active ? 2 * a->cap_active : 16;
		char **grown = realloc(a->active, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		a->active = grown;
		a->cap_active = cap;
	}
	copy = strdup(key);
	if (copy == NULL)
		return -1;
	memmove(a->active + at + 1, a->active + at, (a->n_active - at) * sizeof(*a->active));
	a->active[at] = copy;
	a->n_active++;
	return 0;
}

static void forget(struct ob_alerts *a, const char *key)
{
	bool found;
	size_t at = find(a, key, &found);

	if (!found)
		return;
	free(a->active[at]);
	memmove(a->active + at, a->active + at + 1, (a->n_active - at - 1) * sizeof(*a->active));
	a->n_active--;
}

static int load_active(void *ctx, const char *key)
{
	return remember(ctx, key) < 0 ? 1 : 0;
}

bool ob_alerts_active(const struct ob_alerts *a, const char *key)
{
	bool found = false;

	if (a != NULL && key != NULL)
		(void)find(a, key, &found);
	return found;
}

/* ---- terminal keys known to be in the outbox ------------------------------ */

#define KNOWN_SLOTS (2 * OB_ALERT_KNOWN_MAX)

static uint64_t key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

/* The slot of h, or the empty one where it would go. */
static size_t known_slot(const uint64_t *known, uint64_t h)
{
	size_t i = (size_t)(h % KNOWN_SLOTS);

	while (known[i] != 0 && known[i] != h)
		i = (i + 1) % KNOWN_SLOTS;
	return i;
}

/* Remember key; out of memory only loses the shortcut. When full, start
 * again empty: one reconcile pass then costs its raises again. */
static void known_add(struct ob_alerts *a, const char *key)
{
	uint64_t h = key_hash(key);
	size_t i;

	if (a->known == NULL && (a->known = calloc(KNOWN_SLOTS, sizeof(*a->known))) == NULL)
		return;
	i = known_slot(a->known, h);
	if (a->known[i] == h)
		return;
	if (a->n_known >= OB_ALERT_KNOWN_MAX) {
		memset(a->known, 0, KNOWN_SLOTS * sizeof(*a->known));
		a->n_known = 0;
		i = known_slot(a->known, h);
	}
	a->known[i] = h;
	a->n_known++;
}

bool ob_alerts_known(const struct ob_alerts *a, const char *key)
{
	uint64_t h;

	if (a == NULL || key == NULL || a->known == NULL)
		return false;
	h = key_hash(key);
	return a->known[known_slot(a->known, h)] == h;
}

/* ---- life cycle ------------------------------------------------------------ */

static int64_t now_ms(const struct ob_alerts *a)
{
	return a->clock->now_ms(a->clock->ctx);
}

struct ob_alerts *ob_alerts_new(const struct ob_alerts_options *o, struct ob_error *err)
{
	struct ob_alerts *a;
	int rc;

	if (o == NULL || o->store == NULL || o->aws == NULL) {
		ob_error_set(err, OB_ERR_INVALID, "alerts: missing options");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->topic = strdup(o->topic_arn ? o->topic_arn : "")) == NULL) {
		free(a);
		ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	a->store = o->store;
	a->aws = o->aws;
	a->clock = o->clock ? o->clock : ob_clock_system();
	a->after_ms = o->after_ms;
	snprintf(a->role, sizeof(a->role), "%s", o->role ? o->role : "");
	snprintf(a->account, sizeof(a->account), "%s", o->account ? o->account : "");
	snprintf(a->region, sizeof(a->region), "%s", o->region ? o->region : "");
	if (gethostname(a->host, sizeof(a->host)) < 0)
		snprintf(a->host, sizeof(a->host), "unknown");
	a->host[sizeof(a->host) - 1] = '\0';
	rc = ob_store_alert_each_active(a->store, load_active, a, err);
	if (rc != 0) {
		if (rc > 0)
			ob_error_set(err, OB_ERR_NOMEM, "out of memory");
		ob_alerts_free(a);
		return NULL;
	}
	a->pending = true; /* whatever the last run left unsent */
	return a;
}

void ob_alerts_free(struct ob_alerts *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_active; i++)
		free(a->active[i]);
	free(a->active);
	for (i = 0; i < a->n_marks; i++)
		free(a->marks[i].key);
	free(a->known);
	free(a->topic);
	free(a);
}

void ob_alerts_set_topic(struct ob_alerts *a, const char *topic_arn)
{
	char *copy;

	if (a == NULL)
		return;
	copy = strdup(topic_arn ? topic_arn : "");
	if (copy == NULL) {
		ob_log(OB_LOG_ERR, "alerts: out of memory; keeping the old topic");
		return;
	}
	if (strcmp(copy, a->topic) != 0) {
		/* A new topic may work where the old one failed. */
		a->retry_at_ms = 0;
		a->backoff_ms = 0;
		a->pending = true;
	}
	free(a->topic);
	a->topic = copy;
}

void ob_alerts_set_after(struct ob_alerts *a, int64_t after_ms)
{
	if (a != NULL)
		a->after_ms = after_ms;
}

int64_t ob_alerts_after_ms(const struct ob_alerts *a)
{
	return a != NULL ? a->after_ms : 0;
}

bool ob_alerts_enabled(const struct ob_alerts *a)
{
	return a != NULL && a->topic[0] != '\0';
}

/* ---- raise and clear ------------------------------------------------------- */

static bool raise_row(struct ob_alerts *a, const struct ob_alert *al, bool silent)
{
	struct ob_alert_row row;
	struct ob_error err;
	char text[TEXT_MAX], summary[256];
	char *details = NULL;
	bool changed;

	if (!ob_alerts_enabled(a) || al == NULL || al->key == NULL || al->kind == NULL)
		return false;
	if (!al->terminal && ob_alerts_active(a, al->key))
		return false;
	clean(text, sizeof(text), al->text, true);
	clean(summary, sizeof(summary), al->summary, false);
	if (al->details != NULL)
		details = json_dumps(al->details, JSON_COMPACT | JSON_SORT_KEYS);
	memset(&row, 0, sizeof(row));
	row.key = (char *)al->key;
	row.kind = (char *)al->kind;
	row.subject = summary;
	row.text = text;
	row.details = details ? details : (char *)"{}";
	row.terminal = al->terminal;
	if (ob_store_alert_raise(a->store, &row, now_ms(a), &changed, &err) < 0) {
		ob_log(OB_LOG_ERR, "alert %s (%s) not recorded: %s", al->key, summary, err.message);
		free(details);
		return false;
	}
	free(details);
	if (al->terminal)
		known_add(a, al->key);
	if (!al->terminal && remember(a, al->key) < 0)
		ob_log(OB_LOG_WARNING, "alerts: out of memory remembering %s", al->key);
	if (changed && silent) {
		/* Recorded for the dedup, never published. Should the mark
		 * fail, the row is published after all: one message too many
		 * rather than none. */
		if (ob_store_alert_raise_sent(a->store, al->key, &err) < 0) {
			ob_log(OB_LOG_WARNING, "alert %s: cannot record it as not to be sent: %s",
			       al->key, err.message);
			a->pending = true;
		}
		ob_log(OB_LOG_NOTICE, "alert recorded, not sent: %s: %s", al->key, summary);
	} else if (changed) {
		a->pending = true;
		ob_log(OB_LOG_NOTICE, "alert raised: %s: %s", al->key, summary);
	}
	return changed;
}

void ob_alerts_clear(struct ob_alerts *a, const char *key, const char *text)
{
	struct ob_error err;
	char clean_text[TEXT_MAX];
	bool changed;

	if (!ob_alerts_enabled(a) || !ob_alerts_active(a, key))
		return;
	clean(clean_text, sizeof(clean_text), text, true);
	if (ob_store_alert_clear(a->store, key, clean_text, now_ms(a), &changed, &err) < 0) {
		ob_log(OB_LOG_ERR, "alert %s: clear not recorded: %s", key, err.message);
		return;
	}
	forget(a, key);
	if (changed) {
		a->pending = true;
		ob_log(OB_LOG_NOTICE, "alert cleared: %s", key);
	}
}

bool ob_alerts_raise(struct ob_alerts *a, const struct ob_alert *al)
{
	return raise_row(a, al, false);
}

bool ob_alerts_record_silently(struct ob_alerts *a, const struct ob_alert *al)
{
	return raise_row(a, al, true);
}

/* ---- delivery -------------------------------------------------------------- */

static void format_ms(int64_t ms, char out[32])
{
	time_t tt = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)(ms / 1000));
}

/* The message of row (cleared: its cleared message): text, then the
 * details as JSON. malloc'ed, or NULL when out of memory. */
static char *render(const struct ob_alerts *a, const struct ob_alert_row *row, bool cleared)
{
	json_t *doc = json_loads(row->details, 0, NULL), *extra;
	char raised[32], ended[32], *json = NULL, *msg = NULL;
	size_t len;

	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	extra = json_object();
	if (doc == NULL || extra == NULL)
		goto out;
	format_ms(row->raised_at, raised);
	format_ms(row->cleared_at, ended);
	json_object_set_new(extra, "schema", json_string(SCHEMA));
	ob_alert_set(extra, "key", row->key);
	ob_alert_set(extra, "kind", row->kind);
	json_object_set_new(extra, "state", json_string(cleared ? "cleared" : "raised"));
	ob_alert_set(extra, "summary", row->subject);
	ob_alert_set(extra, "role", a->role);
	ob_alert_set(extra, "account", a->account);
	ob_alert_set(extra, "region", a->region);
	ob_alert_set(extra, "host", a->host);
	json_object_set_new(extra, "raised_at", json_string(raised));
	if (cleared)
		json_object_set_new(extra, "cleared_at", json_string(ended));
	json_object_set_new(extra, "terminal", json_boolean(row->terminal));
	/* The fixed members win over a details member of the same name. */
	json_object_update(doc, extra);
	json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (json == NULL)
		goto out;
	len = strlen(row->text) + strlen(row->clear_text) + strlen(json) + 1024;
	msg = malloc(len);
	if (msg == NULL)
		goto out;
	if (cleared)
		snprintf(msg, len,
			 "RESOLVED: %s\n\n"
			 "Condition %s (%s), raised %s, cleared %s.\n"
			 "It was: %s\n"
			 "Daemon: offsite-backup %s in account %s, region %s, host %s.\n\n"
			 "Details (JSON):\n%s\n",
			 row->clear_text[0] ? row->clear_text : "the condition cleared.", row->key,
			 row->kind, raised, ended, row->text, a->role, a->account, a->region,
			 a->host, json);
	else
		snprintf(msg, len,
			 "%s\n\n"
			 "Condition %s (%s), raised %s.%s\n"
			 "Daemon: offsite-backup %s in account %s, region %s, host %s; "
			 "journalctl -u offsite-backup shows its log.\n\n"
			 "Details (JSON):\n%s\n",
			 row->text, row->key, row->kind, raised,
			 row->terminal ? " This condition does not clear: this is its only "
					 "message." : " A message follows when it clears.",
			 a->role, a->account, a->region, a->host, json);
out:
	free(json);
	json_decref(extra);
	json_decref(doc);
	return msg;
}

/* Publish row's raise (cleared false) or cleared message. 0, or -1 + err. */
static int publish(struct ob_alerts *a, const struct ob_alert_row *row, bool cleared,
		   struct ob_error *err)
{
	char subject[OB_ALERT_SUBJECT_MAX + 1], id[128];
	struct ob_sns_attr attrs[2] = {
		{ "alert_kind", row->kind },
		{ "alert_state", cleared ? "cleared" : "raised" },
	};
	char *msg = render(a, row, cleared);
	int rc;

	if (msg == NULL)
		return ob_error_set(err, OB_ERR_NOMEM, "out of memory");
	ob_alert_subject(subject, a->role, a->account, row->subject, cleared);
	/* One short attempt: the loop waits for it (docs/alerts.md). */
	ob_aws_set_call_limits(a->aws, OB_ALERT_PUBLISH_ATTEMPTS, OB_ALERT_PUBLISH_TIMEOUT_MS);
	rc = ob_sns_publish_attrs(a->aws, a->topic, msg, subject, attrs, 2, id, sizeof(id), err);
	ob_aws_set_call_limits(a->aws, 0, 0);
	free(msg);
	if (rc == 0)
		ob_log(OB_LOG_INFO, "alert %s %s: published (message id %s)", row->key,
		       cleared ? "cleared" : "raised", id);
	return rc;
}

/* A failed publish: wait, doubling, and say so once per outage. */
static void backoff(struct ob_alerts *a, const struct ob_alert_row *row, const struct ob_error *err)
{
	char line[600];

	a->backoff_ms = a->backoff_ms == 0 ? OB_ALERT_BACKOFF_MIN_MS :
		(a->backoff_ms * 2 > OB_ALERT_BACKOFF_MAX_MS ? OB_ALERT_BACKOFF_MAX_MS
							     : a->backoff_ms * 2);
	a->retry_at_ms = now_ms(a) + a->backoff_ms;
	if (!a->failing)
		ob_log(OB_LOG_WARNING, "alerts: cannot publish %s to %s: %s; kept, trying again "
		       "with backoff (up to %d s)", row->key, a->topic,
		       ob_error_str(err, line, sizeof(line)), OB_ALERT_BACKOFF_MAX_MS / 1000);
	a->failing = true;
}

/* Index of the owed mark (key, cleared, at_ms), or n_marks. */
static size_t mark_find(const struct ob_alerts *a, const char *key, bool cleared, int64_t at_ms)
{
	size_t i;

	for (i = 0; i < a->n_marks; i++)
		if (a->marks[i].cleared == cleared && a->marks[i].at_ms == at_ms &&
		    strcmp(a->marks[i].key, key) == 0)
			break;
	return i;
}

/* A message went out but its mark failed: remember it (the oldest owed
 * mark is forgotten when full: that one may go out twice). */
static void mark_owe(struct ob_alerts *a, const char *key, bool cleared, int64_t at_ms)
{
	char *copy;

	if (mark_find(a, key, cleared, at_ms) < a->n_marks || (copy = strdup(key)) == NULL)
		return;
	if (a->n_marks == MARKS_MAX) {
		free(a->marks[0].key);
		memmove(a->marks, a->marks + 1, (MARKS_MAX - 1) * sizeof(a->marks[0]));
		a->n_marks--;
	}
	a->marks[a->n_marks++] = (struct owed_mark){ copy, cleared, at_ms };
}

static void mark_paid(struct ob_alerts *a, const char *key, bool cleared, int64_t at_ms)
{
	size_t i = mark_find(a, key, cleared, at_ms);

	if (i == a->n_marks)
		return;
	free(a->marks[i].key);
	memmove(a->marks + i, a->marks + i + 1, (a->n_marks - i - 1) * sizeof(a->marks[0]));
	a->n_marks--;
}

/* A failed publish: no more tries this turn; a cancelled one (a stop or a
 * reload) only ends the turn's flushing. */
static void publish_failed(struct ob_alerts *a, const struct ob_alert_row *row,
			   const struct ob_error *err)
{
	a->turn_failed = true;
	if (err->kind != OB_ERR_CANCELLED)
		backoff(a, row, err);
}

/* Send what row still needs. 0 when done, 1 after a failed publish, -1 on
 * a store failure (logged). A message whose publish worked but whose mark
 * failed is not published again: only the mark is tried again. */
static int deliver(struct ob_alerts *a, const struct ob_alert_row *row)
{
	struct ob_error err;

	if (!row->raised_sent) {
		if (mark_find(a, row->key, false, row->raised_at) == a->n_marks &&
		    publish(a, row, false, &err) < 0) {
			publish_failed(a, row, &err);
			return 1;
		}
		if (ob_store_alert_raise_sent(a->store, row->key, &err) < 0) {
			ob_log(OB_LOG_ERR, "alert %s: published, but cannot mark it sent (trying the "
			       "mark again, not the message): %s", row->key, err.message);
			mark_owe(a, row->key, false, row->raised_at);
			return -1;
		}
		mark_paid(a, row->key, false, row->raised_at);
	}
	if (row->cleared_at == 0)
		return 0;
	if (mark_find(a, row->key, true, row->cleared_at) == a->n_marks &&
	    publish(a, row, true, &err) < 0) {
		publish_failed(a, row, &err);
		return 1;
	}
	if (ob_store_alert_clear_sent(a->store, row->key, row->cleared_at, &err) < 0) {
		ob_log(OB_LOG_ERR, "alert %s: published, but cannot delete it (trying that again, "
		       "not the message): %s", row->key, err.message);
		mark_owe(a, row->key, true, row->cleared_at);
		return -1;
	}
	mark_paid(a, row->key, true, row->cleared_at);
	return 0;
}

void ob_alerts_begin_turn(struct ob_alerts *a)
{
	if (a == NULL)
		return;
	a->turn_rows = 0;
	a->turn_failed = false;
}

void ob_alerts_flush(struct ob_alerts *a)
{
	struct ob_alert_list l;
	struct ob_error err;
	int64_t now;
	size_t i, limit;
	int rc = 0;

	if (!ob_alerts_enabled(a))
		return;
	now = now_ms(a);
	if (now >= a->next_prune_ms) {
		a->next_prune_ms = now + PRUNE_EVERY_MS;
		if (ob_store_alert_prune(a->store, now - OB_ALERT_KEEP_TERMINAL_MS, &err) < 0)
			ob_log(OB_LOG_WARNING, "alerts: cannot forget old rejections: %s",
			       err.message);
	}
	if (!a->pending || now < a->retry_at_ms || a->turn_failed ||
	    a->turn_rows >= OB_ALERT_FLUSH_ROWS)
		return;
	limit = OB_ALERT_FLUSH_ROWS - a->turn_rows;
	if (ob_store_alert_pending(a->store, limit, &l, &err) < 0) {
		ob_log(OB_LOG_ERR, "alerts: cannot read the outbox: %s", err.message);
		a->retry_at_ms = now + OB_ALERT_BACKOFF_MIN_MS;
		return;
	}
	for (i = 0; i < l.n && rc == 0; i++) {
		a->turn_rows++;
		rc = deliver(a, &l.items[i]);
	}
	if (rc == 0) {
		if (a->failing)
			ob_log(OB_LOG_NOTICE, "alerts: publishing to %s works again", a->topic);
		a->failing = false;
		a->backoff_ms = 0;
		a->retry_at_ms = 0;
		/* A full batch may have more behind it: look again (next
		 * turn once this one's rows are used up). */
		a->pending = l.n == limit;
	} else if (rc < 0) {
		a->retry_at_ms = now + OB_ALERT_BACKOFF_MIN_MS;
	}
	ob_alert_list_clear(&l);
}

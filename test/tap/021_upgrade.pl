# The upgrade 0.1.0 -> the current version (the DBA's day): a database
# filled at 0.1.0 keeps every row through ALTER EXTENSION parley UPDATE, the
# updated schema equals a fresh install of the current version, and parleyd's PARLEY_MIGRATE upgrades once
# when ten gateways start at the same time -- or, without the privilege,
# says what the DBA must run.  Databases filled at every earlier version
# update to the same schema, and a gateway role granted at 0.3.0 keeps
# working.
use strict;
use warnings;

use ParleyTest;
use PostgreSQL::Test::Utils;
use Test::More;

# The current version: default_version of extension/parley.control.
my ($cur) = do {
	open my $fh, '<', "$ENV{PARLEY_SRC}/extension/parley.control" or die "parley.control: $!";
	map { /^default_version\s*=\s*'([^']+)'/ ? $1 : () } <$fh>;
};
die 'no default_version in parley.control' unless $cur;
(my $cur_re = $cur) =~ s/\./\\./g;

my $node = ParleyTest::new_node('upgrade', bare => 1);
$node->safe_psql('postgres', 'CREATE DATABASE up');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('up', q{CREATE EXTENSION parley VERSION '0.1.0'});
is($node->safe_psql('up', q{SELECT extversion FROM pg_extension WHERE extname = 'parley'}),
	'0.1.0', 'installed 0.1.0');
is($node->safe_psql('up', q{SELECT to_regclass('parley.friendships') IS NOT NULL}), 'f',
	'0.1.0 has no friendships table');

# --- fill at 0.1.0, with the same parley.so that serves the current version ------
$node->safe_psql('up', q{
	SELECT parley.guest_upsert('g' || i, 'Guest ' || i, jsonb_build_object('n', i))
	  FROM generate_series(1, 20) AS i;
	SELECT parley.conversation_create('g1', 'direct', '{g2}');
	SELECT parley.conversation_create('g1', 'group', ARRAY(SELECT 'g' || i FROM generate_series(2, 10) i), 'Guild');
	SELECT parley.message_post(c.id, 'g1', 'message ' || i, 'm' || i)
	  FROM parley.conversations c, generate_series(1, 30) AS i;
	SELECT parley.read_mark(c.id, 'g2', 7) FROM parley.conversations c;
	SELECT parley.service_key_create('before-upgrade');
});
my $fingerprint_sql = q{
	SELECT (SELECT md5(string_agg((to_jsonb(g) - 'tokens_valid_from' - 'erased_at')::text, '|' ORDER BY guest_id))
	          FROM parley.guests g) || ' ' ||
	       (SELECT md5(string_agg((to_jsonb(c) - 'change_seq' - 'description' - 'metadata' - 'frozen'
	                               - 'slow_mode_s')::text, '|' ORDER BY id))
	          FROM parley.conversations c) || ' ' ||
	       (SELECT md5(string_agg((to_jsonb(p) - 'last_post_at' - 'muted_until' - 'notifications_off_until'
	                                 - 'archived' - 'pinned')::text, '|'
	                              ORDER BY conversation_id, guest_id)) FROM parley.participants p) || ' ' ||
	       (SELECT md5(string_agg((to_jsonb(m) - 'change_seq' - 'reactions' - 'reply_to' - 'reply_count'
	                                 - 'attachments' - 'reacted_change_seq' - 'tx')::text, '|' ORDER BY conversation_id, seq))
	          FROM parley.messages m) || ' ' ||
	       (SELECT md5(string_agg(k::text, '|' ORDER BY name)) FROM parley.service_keys k
	         WHERE name = 'before-upgrade') || ' ' ||
	       (SELECT count(*) FROM parley.messages)};
my $before = $node->safe_psql('up', $fingerprint_sql);
like($before, qr/ 60$/, '60 messages at 0.1.0');
my $direct = $node->safe_psql('up', q{SELECT id FROM parley.conversations WHERE kind = 'direct'});

# --- parleyd refuses 0.1.0 and says what to run --------------------------------------
$node->safe_psql('postgres', q{CREATE ROLE parley_gateway LOGIN});
$node->safe_psql('up', q{GRANT USAGE ON SCHEMA parley TO parley_gateway});
my $gw = ParleyTest->start(node => $node, db => 'up', wait => 'none', name => 'no_migrate',
	env => { PARLEY_CONNECT_TIMEOUT => 1 });
my $status = $gw->wait_exit(30);
isnt($status, 0, 'without PARLEY_MIGRATE parleyd exits non-zero on 0.1.0');
like($gw->log_text, qr/parley 0\.1\.0 is installed.*ALTER EXTENSION parley UPDATE/,
	'the one line names the version and the statement to run');

$gw = ParleyTest->start(node => $node, db => 'up', wait => 'none', name => 'unprivileged',
	env => { PARLEY_MIGRATE => 1, PARLEY_CONNECT_TIMEOUT => 2 });
$status = $gw->wait_exit(30);
is($status, 1, 'PARLEY_MIGRATE as the gateway role: exit 1');
like($gw->log_text, qr/role "parley_gateway" may not change the extension.*a DBA must run: ALTER EXTENSION parley UPDATE TO '$cur_re'/,
	'... and the message says what the DBA must run');
is($node->safe_psql('up', q{SELECT extversion FROM pg_extension WHERE extname = 'parley'}),
	'0.1.0', '... and nothing changed');

# --- ten gateways at once upgrade once ----------------------------------------------------
my $key = ParleyTest::create_key($node, 'upgrade-test', 'up');
my $owner_url = sprintf('host=%s port=%d dbname=up', $node->host, $node->port);
my @gws = map {
	ParleyTest->start(node => $node, key => $key, wait => 'none', name => "migrate$_",
		env => { PARLEY_MIGRATE => 1, DATABASE_URL => $owner_url,
			PARLEY_JWT_SECRET => "upgrade-test-secret-of-at-least-32-bytes" })
} 1 .. 10;
$_->wait_for('/readyz', 60) for @gws;
pass('ten gateways with PARLEY_MIGRATE=1 are ready');
is($node->safe_psql('up', q{SELECT extversion FROM pg_extension WHERE extname = 'parley'}),
	$cur, "the database is at $cur");
my $updated = grep { $_->log_text =~ /updated extension parley 0\.1\.0 -> $cur_re/ } @gws;
my $current = grep { $_->log_text =~ /extension parley $cur_re is current/ } @gws;
is($updated, 1, 'exactly one gateway updated');
is($current, 9, 'the nine others found it current');

# --- data and behaviour after the update -------------------------------------------------
is($node->safe_psql('up', $fingerprint_sql), $before, 'every row survived the update unchanged');
# 0.6.0: slow mode counts posts made before the update
is($node->safe_psql('up', q{SELECT count(*) FROM parley.participants p
	WHERE p.last_post_at IS DISTINCT FROM (SELECT max(m.created_at) FROM parley.messages m
	                                        WHERE m.conversation_id = p.conversation_id AND m.sender_id = p.guest_id)}),
	'0', "each participant's last post is counted for slow mode");
is($node->safe_psql('up', q{SELECT count(*) FROM parley.friendships}), '0', 'friendships exist, empty');
# 0.5.0: old messages have no reactions, replies or attachments
is($node->safe_psql('up', q{SELECT count(*) FROM parley.messages
	WHERE reactions = '{}' AND reply_to IS NULL AND reply_count = 0 AND attachments = '[]' AND reacted_change_seq IS NULL}),
	'60', 'old messages: reactions {}, reply_to null, reply_count 0, attachments [] (0.5.0)');
my $g = $gws[0];
my $r = $g->req(GET => "/v1/conversations/$direct/messages?as=g2&limit=200");
is($r->{status}, 200, 'old messages readable over HTTP');
is(scalar @{ $r->{json}{messages} }, 30, '... all 30 of the direct conversation');
is($g->req(PUT => '/v1/guests/g1/friends/g2')->{status}, 201, 'friend request on the updated database');
is($g->req(PUT => '/v1/guests/g2/friends/g1')->{json}{status}, 'accepted', 'accepted');
is($g->req(POST => "/v1/conversations/$direct/messages?as=g2", { body => 'hi' })->{status}, 201,
	'posting in the old direct conversation');
is($g->req(PUT => '/v1/guests/g2/blocks/g1')->{status}, 200, 'block');
is($g->req(POST => "/v1/conversations/$direct/messages?as=g1", { body => 'hi' })->{json}{code}, 'blocked',
	'the updated message_post honours blocks in an old direct conversation');
is($g->req(POST => "/v1/conversations/$direct/messages?as=g1", { body => 'message 1', client_msg_id => 'm1' })->{status},
	403, 'an idempotent replay too');
is($node->safe_psql('up', q{SELECT p.prosrc FROM pg_proc p WHERE p.oid = 'parley.message_post'::regproc}),
	'message_post_v0_6', 'message_post is bound to the 0.6.0 symbol (blocks since 0.2.0, moderation since 0.6.0)');
is($g->req(PATCH => "/v1/conversations/$direct/messages/2?as=g1", { body => 'edited after the update' })->{status},
	200, 'editing an old message');
is($node->safe_psql('up', qq{SELECT c.change_seq || ' ' || m.change_seq FROM parley.conversations c
	JOIN parley.messages m ON m.conversation_id = c.id AND m.seq = 2 WHERE c.id = '$direct'}),
	'1 1', 'the updated message_edit counts the change (0.3.0), from 0 for an old conversation');
# 0.4.0: the acting guest of a profile write, tokens of old guests
is($g->req(PUT => '/v1/guests/g3?as=g3', { display_name => 'Three' })->{status}, 200,
	'a guest writes its own old profile');
is($g->req(PUT => '/v1/guests/g3?as=g4', { display_name => 'Four' })->{json}{code}, 'guest_mismatch',
	'... and not another guest\'s (403 guest_mismatch)');
is($g->req(POST => '/v1/guests/g3/tokens', { ttl => 60 })->{status}, 201, 'a token for an old guest');
is($g->req(DELETE => '/v1/guests/g3/tokens')->{status}, 204, 'revoking its tokens');
is($node->safe_psql('up', q{SELECT parley.guest_tokens_revoked_since(NULL)->'guests' ? 'g3'}), 't',
	'... which the gateways\' poll answers');
$_->stop for @gws;

# 0.2.0 -> 0.3.0 keeps a gateway role working: the new event functions are
# granted to whoever may run the 0.2.0 ones (extension/gateway-role.sql).
$node->safe_psql('postgres', 'CREATE DATABASE mid');
$node->safe_psql('mid', q{CREATE EXTENSION parley VERSION '0.2.0'});
$node->safe_psql('mid', q{GRANT USAGE ON SCHEMA parley TO parley_gateway;
	GRANT EXECUTE ON FUNCTION parley.events_subscribe(uuid, text, bigint),
	    parley.events_fetch(uuid[], bigint[], integer), parley.conversation_heads(uuid[]) TO parley_gateway});
$node->safe_psql('mid', q{ALTER EXTENSION parley UPDATE});
is($node->safe_psql('mid', q{SELECT has_function_privilege('parley_gateway', 'parley.events_heads(uuid[])', 'EXECUTE')
	AND has_function_privilege('parley_gateway', 'parley.events_changes(uuid, bigint, text[])', 'EXECUTE')
	AND NOT has_function_privilege('public', 'parley.events_changes(uuid, bigint, text[])', 'EXECUTE')}),
	't', '0.2.0 -> 0.3.0: the gateway role may run events_heads and events_changes, PUBLIC may not');
$node->safe_psql('postgres', 'DROP DATABASE mid');

# 0.3.0 -> 0.4.0 keeps a gateway role working: whoever may run the 0.3.0
# guest_upsert may run the 0.4.0 one and the token functions, and a 0.3
# parleyd's call (three arguments) still resolves.
$node->safe_psql('postgres', 'CREATE DATABASE mid');
$node->safe_psql('mid', q{CREATE EXTENSION parley VERSION '0.3.0'});
$node->safe_psql('mid', q{GRANT USAGE ON SCHEMA parley TO parley_gateway;
	GRANT EXECUTE ON FUNCTION parley.guest_upsert(text, text, jsonb), parley.guest_get(text),
	    parley.last_status() TO parley_gateway});
$node->safe_psql('mid', q{SELECT parley.guest_upsert('m1', 'M1')});
$node->safe_psql('mid', q{ALTER EXTENSION parley UPDATE});
is($node->safe_psql('mid', q{SELECT has_function_privilege('parley_gateway', 'parley.guest_upsert(text, text, jsonb, text)', 'EXECUTE')
	AND has_function_privilege('parley_gateway', 'parley.guest_token_claims(text, integer)', 'EXECUTE')
	AND has_function_privilege('parley_gateway', 'parley.guest_tokens_revoke(text)', 'EXECUTE')
	AND has_function_privilege('parley_gateway', 'parley.guest_tokens_revoked_since(timestamptz)', 'EXECUTE')
	AND NOT has_function_privilege('public', 'parley.guest_tokens_revoke(text)', 'EXECUTE')
	AND NOT has_function_privilege('public', 'parley.guest_upsert(text, text, jsonb, text)', 'EXECUTE')}),
	't', '0.3.0 -> 0.4.0: the gateway role may run guest_upsert and the token functions, PUBLIC may not');
is($node->safe_psql('mid', q{SET ROLE parley_gateway;
	SELECT r->>'display_name', parley.last_status()
	  FROM parley.guest_upsert('m1', ('{"display_name": "M one"}'::jsonb)->>'display_name',
	                           COALESCE(('{}'::jsonb)->'metadata', '{}'::jsonb)) AS r}),
	'M one|200', 'a 0.3 parleyd\'s guest_upsert call (three arguments) works on 0.4.0');
is($node->safe_psql('mid', q{SELECT p.prosrc FROM pg_proc p WHERE p.proname = 'guest_upsert'}),
	'guest_upsert_v0_6', 'guest_upsert is one function, bound to the 0.6.0 symbol (an erased guest is not re-created)');
# grants the update copied to a gateway role are the DBA's: pg_dump keeps them
like(schema('mid'), qr/^GRANT ALL ON FUNCTION parley\.guest_tokens_revoke\(guest_id text\) TO parley_gateway;$/m,
	'pg_dump keeps the grants the update copied to the gateway role');
like(schema('mid'), qr/^GRANT USAGE ON SCHEMA parley TO parley_gateway;$/m,
	'... and the DBA\'s grant on the schema');
$node->safe_psql('postgres', 'DROP DATABASE mid');

# A 0.1.0 database on the same parley.so keeps the 0.1.0 behaviour.
$node->safe_psql('fresh', q{CREATE EXTENSION parley VERSION '0.1.0'});
$node->safe_psql('fresh', q{SELECT parley.guest_upsert('a', 'A'), parley.guest_upsert('b', 'B')});
is($node->safe_psql('fresh', q{
	SELECT parley.message_post((parley.conversation_create('a', 'direct', '{b}')->>'id')::uuid, 'a', 'x')->>'seq'}),
	"1", 'a 0.1.0 database still posts through the same library');
$node->safe_psql('postgres', 'DROP DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# --- databases filled at every earlier version, updated to the current one ----------------
my %from;
for my $v (grep { $_ ne $cur } '0.2.0', '0.3.0', '0.4.0', '0.5.0')
{
	my $db = 'from' . ($v =~ s/\.//gr);
	$from{$v} = $db;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{CREATE EXTENSION parley VERSION '$v'});
	$node->safe_psql($db, q{
		SELECT parley.guest_upsert('g' || i, 'Guest ' || i) FROM generate_series(1, 5) AS i;
		SELECT parley.friend_request('g1', 'g2');
		SELECT parley.message_post((parley.conversation_create('g1', 'group', '{g2,g3}', 'G')->>'id')::uuid,
		                           'g2', 'message ' || i) FROM generate_series(1, 3) AS i;
	});
	my $rows = $node->safe_psql($db, q{SELECT (SELECT count(*) FROM parley.guests) || ' ' ||
		(SELECT count(*) FROM parley.messages) || ' ' || (SELECT count(*) FROM parley.friendships)});
	$node->safe_psql($db, 'GRANT USAGE ON SCHEMA parley TO parley_gateway');
	$node->safe_psql($db, 'ALTER EXTENSION parley UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'parley'}),
		$cur, "$v -> $cur");
	is($node->safe_psql($db, q{SELECT (SELECT count(*) FROM parley.guests) || ' ' ||
		(SELECT count(*) FROM parley.messages) || ' ' || (SELECT count(*) FROM parley.friendships)}),
		$rows, "... every row kept ($rows)");
	$node->safe_psql($db, q{SELECT parley.guest_tokens_revoke('g1')});
	is($node->safe_psql($db, q{SELECT parley.guest_token_claims('g1', 60)->>'sub'}), 'g1',
		'... and its guests get tokens');
	$node->safe_psql($db, q{UPDATE parley.guests SET tokens_valid_from = NULL});
}

# --- the updated schema equals a fresh install of the current version ---------------------
$node->safe_psql('fresh', 'CREATE EXTENSION parley');
$node->safe_psql('fresh', 'GRANT USAGE ON SCHEMA parley TO parley_gateway');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'parley'}),
	$cur, "a fresh install is $cur");

# Plain pg_dump leaves extension members out; --binary-upgrade dumps each of
# them (tables, indexes, functions, view, comments, grants).  Lines that
# carry OIDs or transaction ids differ between any two databases: drop them.
sub schema
{
	my ($db, @extra) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dump', '--schema-only', @extra, '-d', $node->connstr($db) ],
		'>', \$out, '2>', \$err) or die "pg_dump $db: $err";
	my @lines = grep {
		!/^--/ && !/^\s*$/ && !/^\\(un)?restrict / && !/binary_upgrade_/ && !/relfrozenxid/ && !/WHERE oid = /
		  && !/^SELECT pg_catalog\.setval\(/
	} split /\n/, $out;
	# The grants on one object come in the order they were made: a role
	# granted USAGE before the update lists before pg_monitor (granted by
	# 0.4.0), after it in a fresh install.  Sort each run of GRANT lines.
	my @out;
	while (@lines)
	{
		my @run;
		push @run, shift @lines while @lines && $lines[0] =~ /^GRANT /;
		push @out, @run ? sort(@run) : shift @lines;
	}
	return join("\n", @out) . "\n";
}
my $members_up    = schema('up', '--binary-upgrade');
my $members_fresh = schema('fresh', '--binary-upgrade');
like($members_fresh, qr/CREATE TABLE parley\.friendships/, 'the member dump shows the tables');
like($members_fresh, qr/COMMENT ON VIEW parley\.stats/, '... the view and its comments');
like($members_fresh, qr/conversation_create_v0_6/, '... and the function symbols');
like($members_fresh, qr/message_edit_v0_6/, '... of 0.6.0 too');
like($members_fresh, qr/friend_request_v0_4/, '... and of 0.4.0');
like($members_fresh, qr/GRANT USAGE ON SCHEMA parley TO pg_monitor/, '... and the grants (pg_monitor)');
is($members_up, $members_fresh, "updated and fresh $cur have the same members, comments and grants");
is(schema('up'), schema('fresh'), 'pg_dump --schema-only of both is the same');
for my $v (sort keys %from)
{
	is(schema($from{$v}, '--binary-upgrade'), $members_fresh, "updated from $v: the same members as fresh $cur");
	is(schema($from{$v}), schema('fresh'), "updated from $v: the same pg_dump --schema-only");
}
is($node->safe_psql('up', q{SELECT extconfig::regclass[]::text FROM pg_extension WHERE extname = 'parley'}),
	$node->safe_psql('fresh', q{SELECT extconfig::regclass[]::text FROM pg_extension WHERE extname = 'parley'}),
	'the same tables are marked for dumping');

done_testing();

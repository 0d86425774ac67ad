# The contract corners of API.md section 6 that the gateway's pure request
# path decides (issue 14), over real HTTP against real PostgreSQL, each with
# the exact status and code, and the database read back to show that a
# refused request changed nothing:
#   - JSON is RFC 8259 exactly (what cJSON took and PostgreSQL refused was
#     validation_failed with the server's parser text; now invalid_json);
#   - nesting beyond 32 levels is validation_failed however deep;
#   - integers are digits, never doubles (1.0000000000000001 moved a marker);
#   - a seq or cursor too large for bigint is past the end, never 400;
#   - a body on a route that takes none is refused (413, 415, 400);
#   - query parameters with a fixed set of values refuse anything else;
#   - HEAD works on GET routes, and Allow says so.
# Every request carries the service key, so a 401 cannot hide a check.
use strict;
use warnings;

use ParleyTest;
use SSEClient;
use Test::More;

my $node = ParleyTest::new_node('contract');
my $key  = ParleyTest::create_key($node, 'contract-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

my $BIGINT_MAX = '9223372036854775807';
my @huge = ('9223372036854775808', '18446744073709551616', '99999999999999999999',
	'1' . ('0' x 60));

for my $g (qw(alice bob carol))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}
my $r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'group', participants => [qw(bob carol)] });
is($r->{status}, 201, 'a group') or diag($r->{body});
my $cid = $r->{json}{id};
for my $n (1 .. 3)
{
	is($gw->req(POST => "/v1/conversations/$cid/messages?as=alice", { body => "m$n" })->{status}, 201, "message $n");
}

# What a refused request must not change, as the DBA sees it.
sub guests
{
	return ParleyTest::data_same($node,
		q{SELECT string_agg(guest_id || '=' || display_name || ':' || metadata::text, ' ' ORDER BY guest_id) FROM parley.guests});
}

sub messages
{
	return ParleyTest::conversation_psql($node, $cid,
		"SELECT string_agg(seq || ':' || coalesce(body, '-') || ':' || (edited_at IS NULL) || ':' || (deleted_at IS NULL), ' ' ORDER BY seq)"
		  . " FROM parley.messages WHERE conversation_id = '$cid'");
}

sub markers
{
	return ParleyTest::conversation_psql($node, $cid,
		"SELECT string_agg(guest_id || '=' || last_read_seq, ' ' ORDER BY guest_id)"
		  . " FROM parley.participants WHERE conversation_id = '$cid'");
}

sub friendships
{
	return ParleyTest::data_same($node,
		q{SELECT count(*) FROM parley.friendships}) . '/'
	  . ParleyTest::data_same($node, q{SELECT count(*) FROM parley.blocks});
}

sub db_state { return join ' | ', guests(), messages(), markers(), friendships(); }

my $state = db_state();
like(markers(), qr/^alice=3 bob=0 carol=0$/, 'markers at the start: the sender read its own');

# --- strict JSON: RFC 8259 exactly ------------------------------------------------
# Each of these cJSON accepted; PostgreSQL refused it with its parser text.
my %bad_json = (
	'leading zero'               => '{"display_name": "M", "metadata": {"n": 01}}',
	'negative leading zero'      => '{"display_name": "M", "metadata": {"n": -01}}',
	'no digit after the point'   => '{"display_name": "M", "metadata": {"n": 1.}}',
	'1.e5'                       => '{"display_name": "M", "metadata": {"n": 1.e5}}',
	'no digit before the point'  => '{"display_name": "M", "metadata": {"n": .5}}',
	'plus sign'                  => '{"display_name": "M", "metadata": {"n": +1}}',
	'empty exponent'             => '{"display_name": "M", "metadata": {"n": 1e}}',
	'hex'                        => '{"display_name": "M", "metadata": {"n": 0x10}}',
	'Infinity'                   => '{"display_name": "M", "metadata": {"n": Infinity}}',
	'form feed between tokens'   => "{\"display_name\":\f\"M\"}",
	'form feed before the body'  => "\f{\"display_name\": \"M\"}",
	'form feed after the body'   => "{\"display_name\": \"M\"}\f",
	'vertical tab between tokens' => "{\"display_name\": \"M\",\x0b\"metadata\": {}}",
	'control character between tokens' => "{\"display_name\": \"M\"\x01}",
	'DEL between tokens'         => "{\"display_name\": \"M\"\x7f}",
	'no-break space as white space' => "{\"display_name\":\xC2\xA0\"M\"}",
	'byte order mark'            => "\xEF\xBB\xBF{\"display_name\": \"M\"}",
	'trailing comma in an array' => '{"display_name": "M", "metadata": {"a": [1,]}}',
	'unquoted key'               => '{display_name: "M"}',
	'bad escape'                 => '{"display_name": "M\\x41"}',
	'short \u escape'            => '{"display_name": "M\\u12"}',
);
for my $name (sort keys %bad_json)
{
	ParleyTest::problem($gw->req(PUT => '/v1/guests/mallory', $bad_json{$name}), 400, 'invalid_json', "guest, $name: 400 invalid_json");
}
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/messages?as=bob", '{"body": "x", "metadata": {"n": 1.}}'),
	400, 'invalid_json', 'message with 1.: 400 invalid_json');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/messages?as=bob", "{\"body\":\f\"x\"}"),
	400, 'invalid_json', 'message with a form feed: 400 invalid_json');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/read?as=bob", '{"seq": 01}'),
	400, 'invalid_json', 'read mark with 01: 400 invalid_json');
$r = $gw->req(PUT => '/v1/guests/mallory', '{"display_name": "M", "metadata": {"n": 1.}}');
like($r->{json}{detail} // '', qr/not valid JSON.*at byte \d+/, 'the detail names the byte, not PostgreSQL\'s parser');
is(db_state(), $state, 'bad JSON changed nothing');

# RFC 8259 numbers PostgreSQL takes are still fine.
$r = $gw->req(PUT => '/v1/guests/numbers',
	"{\"display_name\":\t\"N\",\r\n\"metadata\": {\"a\": -0, \"b\": 1.5e-3, \"c\": 2E+2, \"d\": 0.0, \"e\": 123456789012345678901234567890}}\n");
is($r->{status}, 201, 'every RFC 8259 number form is accepted') or diag($r->{body});
like($r->{body} // '', qr/123456789012345678901234567890/, 'and kept exactly');

# --- nesting: validation_failed however deep ---------------------------------------
sub nested
{
	my ($levels, $open, $close) = @_;
	return '{"display_name": "D", "metadata": {"a":' . ($open x ($levels - 1)) . '1' . ($close x ($levels - 1)) . '}}';
}
$r = $gw->req(PUT => '/v1/guests/deep32', nested(32, '[', ']'));
is($r->{status}, 201, 'metadata 32 levels deep: stored') or diag($r->{body});
$state = db_state();
for my $levels (33, 34, 100, 999, 1001, 2000, 10000)
{
	ParleyTest::problem($gw->req(PUT => '/v1/guests/deep', nested($levels, '[', ']')), 400, 'validation_failed',
		"metadata $levels levels of arrays: 400 validation_failed");
	ParleyTest::problem($gw->req(PUT => '/v1/guests/deep', nested($levels, '{"k":', '}')), 400, 'validation_failed',
		"metadata $levels levels of objects: 400 validation_failed");
}
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/messages?as=bob", '{"body": "x", "metadata": ' . ('[' x 2000) . (']' x 2000) . '}'),
	400, 'validation_failed', 'message metadata 2000 deep: 400 validation_failed');
is(db_state(), $state, 'too deep changed nothing');

# --- integers are digits ---------------------------------------------------------------
for my $seq ('1.0000000000000001', '1e-400', '1.0', '1e0', '2E0', '0.5e1', '2.5', '"2"', 'null', 'true', '[2]', '{"n": 2}')
{
	ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/read?as=bob", "{\"seq\": $seq}"), 400, 'validation_failed',
		"read mark seq $seq: 400 validation_failed");
}
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/read?as=bob", '{}'), 400, 'validation_failed', 'read mark without seq: 400');
is(markers(), 'alice=3 bob=0 carol=0', 'the marker did not move');

for my $q ('limit=1.0', 'limit=1e1', 'limit=%2B5', 'limit=5.', 'limit=0x5', 'limit=%205', 'after=1.0000000000000001',
	'after=1e-400', 'before=2.0', 'before=1e1', 'after=-', 'after=1_0')
{
	ParleyTest::problem($gw->req(GET => "/v1/conversations/$cid/messages?as=bob&$q"), 400, 'validation_failed', "messages?$q: 400");
}
ParleyTest::problem($gw->req(GET => '/v1/guests/bob/conversations?limit=2.0'), 400, 'validation_failed', 'conversations?limit=2.0: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/bob/friends?limit=1e1'), 400, 'validation_failed', 'friends?limit=1e1: 400');

# A huge limit is an integer out of the extension's range, said by the extension.
for my $limit (@huge, "-$huge[0]")
{
	$r = $gw->req(GET => "/v1/conversations/$cid/messages?as=bob&limit=$limit");
	ParleyTest::problem($r, 400, 'validation_failed', "limit=$limit: 400");
	like($r->{json}{detail} // '', qr/limit must be between 1 and 200/, "limit=$limit: the extension's rule, no cast error");
}

# --- seqs and cursors beyond bigint: past the end ------------------------------------
for my $seq ($BIGINT_MAX, @huge)
{
	ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$cid/messages/$seq?as=alice", { body => 'edited' }),
		404, 'message_not_found', "edit seq $seq: 404");
	ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$cid/messages/$seq?as=alice"),
		404, 'message_not_found', "delete seq $seq: 404");
}
is(messages(), '1:m1:true:true 2:m2:true:true 3:m3:true:true', 'no message changed');

for my $seq ($BIGINT_MAX, @huge)
{
	$r = $gw->req(POST => "/v1/conversations/$cid/read?as=carol", "{\"seq\": $seq}");
	is($r->{status}, 200, "read mark $seq: 200") or diag($r->{body});
	is($r->{json}{last_read_seq}, 3, "read mark $seq: clamped to last_seq");
}
is(markers(), 'alice=3 bob=0 carol=3', 'carol read to the end, bob did not move');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/read?as=bob", "{\"seq\": -$huge[0]}"), 400, 'validation_failed',
	'read mark hugely negative: 400 (a negative seq)');
is(markers(), 'alice=3 bob=0 carol=3', 'bob did not move');

sub seqs { return join ',', map { $_->{seq} } @{ $_[0]{json}{messages} // [] }; }
for my $c ($BIGINT_MAX, @huge)
{
	$r = $gw->req(GET => "/v1/conversations/$cid/messages?as=bob&after=$c");
	is($r->{status}, 200, "after=$c: 200") or diag($r->{body});
	is(seqs($r), '', "after=$c: nothing after the end");
	$r = $gw->req(GET => "/v1/conversations/$cid/messages?as=bob&before=$c&limit=2");
	is($r->{status}, 200, "before=$c: 200") or diag($r->{body});
	is(seqs($r), '2,3', "before=$c: the newest page");
	ok($r->{json}{has_more}, "before=$c: has_more");
}
ParleyTest::problem($gw->req(GET => "/v1/conversations/$cid/messages?as=bob&after=-$huge[0]"), 400, 'validation_failed',
	'after hugely negative: 400 (a negative cursor)');

# A stream with a cursor beyond bigint opens and replays nothing.
for my $how ('query', 'header')
{
	my $s = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?as=bob" . ($how eq 'query' ? "&after=$huge[2]" : ''),
		key => $key, headers => ($how eq 'header' ? { 'Last-Event-ID' => $huge[2] } : {}));
	is($s->status(30), 200, "events, $how cursor $huge[2]: 200");
	ok($s->wait_until(sub { $s->comments >= 1 }, 30), "events, $how cursor: the stream is open");
	is(scalar($s->ids), 0, "events, $how cursor: no replay");
	$s->close;
}
my $s = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?as=bob", key => $key,
	headers => { 'Last-Event-ID' => '1.0' });
is($s->status(30), 400, 'Last-Event-ID 1.0: 400');
$s->close;

# --- a body on a route that takes none --------------------------------------------------
$state = db_state();
my $big = 'x' x 70000;
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/friends/bob', $big, content_type => 'text/plain'),
	413, 'payload_too_large', 'PUT friends with 70 KB of text/plain: 413');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/friends/bob', $big, content_type => 'application/json'),
	413, 'payload_too_large', 'PUT friends with 70 KB of JSON: 413');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/friends/bob', 'hello', content_type => 'text/plain'),
	415, 'unsupported_media_type', 'PUT friends with text/plain: 415');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/friends/bob', 'hello', content_type => undef),
	415, 'unsupported_media_type', 'PUT friends with a body and no Content-Type: 415');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/friends/bob', {}),
	400, 'validation_failed', 'PUT friends with a JSON body: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice/blocks/bob', { reason => 'x' }),
	400, 'validation_failed', 'PUT blocks with a JSON body: 400');
ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$cid/messages/1?as=alice", {}),
	400, 'validation_failed', 'DELETE a message with a JSON body: 400');
ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$cid/participants/carol?as=alice", 'x', content_type => 'text/plain'),
	415, 'unsupported_media_type', 'DELETE a participant with text/plain: 415');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice', { x => 1 }), 400, 'validation_failed', 'GET with a JSON body: 400');
is(db_state(), $state, 'bodies on bodiless routes changed nothing');
is($gw->req(PUT => '/v1/guests/alice/friends/bob', '', content_type => 'text/plain')->{status}, 201,
	'an empty body is no body: the request is served');

# --- query parameters with a fixed set of values -------------------------------------------
$state = db_state();
for my $q ('status=', 'status', 'status=Accepted', 'status=ACCEPTED', 'status=accepted%20', 'status=%20accepted',
	'status=accept', 'status=accepted,incoming', 'status=blocked', 'status=accepted&status=incoming')
{
	ParleyTest::problem($gw->req(GET => "/v1/guests/alice/friends?$q"), 400, 'validation_failed', "friends?$q: 400");
}
$r = $gw->req(GET => '/v1/guests/alice/friends?status=');
like($r->{json}{detail} // '', qr/accepted, incoming or outgoing/, 'the detail lists the values');
for my $q ('status=accepted', 'status=outgoing', 'status=incoming', '')
{
	is($gw->req(GET => "/v1/guests/alice/friends?$q")->{status}, 200, "friends?$q: 200");
}
is(scalar(@{ $gw->req(GET => '/v1/guests/alice/friends?status=outgoing')->{json}{friends} }), 1, 'outgoing: the request to bob');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=alice', { kind => '', participants => ['bob'] }),
	400, 'validation_failed', 'conversation kind "": 400');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=alice', { kind => 'Group', participants => ['bob'] }),
	400, 'validation_failed', 'conversation kind "Group": 400');
is(db_state(), $state, 'the refused values changed nothing');

# --- HEAD on GET routes ---------------------------------------------------------------
$r = $gw->req(HEAD => '/v1/guests/alice');
is($r->{status}, 200, 'HEAD a guest: 200');
is($r->{body} // '', '', 'HEAD: no body');
like($r->{headers}{'content-type'} // '', qr{^application/json}, 'HEAD: the GET\'s content type');
is($gw->req(HEAD => '/v1/guests/nobody')->{status}, 404, 'HEAD an unknown guest: 404');
is($gw->req(HEAD => "/v1/conversations/$cid/messages?as=bob")->{status}, 200, 'HEAD a message page: 200');
is($gw->req(HEAD => "/v1/conversations/$cid/messages")->{status}, 400, 'HEAD without as: 400, as GET');
is($gw->req(HEAD => '/healthz')->{status}, 200, 'HEAD /healthz: 200');
$r = $gw->req(HEAD => "/v1/conversations/$cid/events?as=bob");
is($r->{status}, 200, 'HEAD a stream: 200');
like($r->{headers}{'content-type'} // '', qr{^text/event-stream}, 'HEAD a stream: its content type');
is($r->{body} // '', '', 'HEAD a stream: no body, no stream');
is($gw->req(HEAD => "/v1/conversations/$cid/events?as=nobody")->{status}, 403, 'HEAD a stream as an outsider: 403');
ok(ParleyTest::poll_until(sub { $gw->metric('parley_events_streams') == 0 }, 30), 'HEAD left no stream open');
is($gw->req(HEAD => '/openapi.json')->{status}, 200, 'HEAD /openapi.json: 200');
is($gw->req(HEAD => '/v1/guests/alice', undef, key => undef)->{status}, 401, 'HEAD without a key: 401');
$r = $gw->req(HEAD => '/v1/conversations');
is($r->{status}, 405, 'HEAD on a POST-only route: 405');
is($r->{headers}{allow}, 'POST', '... Allow: POST');
$r = $gw->req(POST => '/healthz');
ParleyTest::problem($r, 405, 'method_not_allowed', 'POST /healthz: 405');
is($r->{headers}{allow}, 'GET, HEAD', '... Allow: GET, HEAD');
is($gw->req(PATCH => '/v1/guests/alice', {})->{headers}{allow}, 'GET, HEAD, PUT, DELETE',
	'Allow of a guest: GET, HEAD, PUT, DELETE (0.6.0: erase)');
is($gw->req(GET => "/v1/conversations/$cid/messages/1?as=bob")->{headers}{allow}, 'PATCH, DELETE',
	'Allow of a message: PATCH, DELETE (no GET, no HEAD)');

# The OpenAPI description says what the gateway enforces.
my $api = $gw->req(GET => '/openapi.json')->{json};
my ($status_param) = grep { $_->{name} eq 'status' } @{ $api->{paths}{'/v1/guests/{guest_id}/friends'}{get}{parameters} };
is_deeply($status_param->{schema}{enum}, [qw(accepted incoming outgoing)], 'OpenAPI: status is an enum');
ok(!grep({ $_->{name} eq 'seq' } @{ $api->{paths}{'/v1/conversations/{cid}/read'}{post}{parameters} }),
	'OpenAPI: the read mark\'s seq is in the body, not a parameter');

$gw->stop;
done_testing();


# Every /v1 route: success status and shape, and the error statuses of
# API.md section 4, each rejected request followed by a read-back that
# proves it changed nothing.
use strict;
use warnings;

use ParleyTest;
use Test::More;

my $node = ParleyTest::new_node('api');
my $key  = ParleyTest::create_key($node, 'api-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

my $uuid_re = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $ts_re   = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

sub keys_are
{
	my ($obj, $keys, $name) = @_;
	is_deeply([ sort keys %{ $obj // {} } ], [ sort @$keys ], $name);
}

# --- guests ------------------------------------------------------------------
my $r = $gw->req(PUT => '/v1/guests/alice',
	'{"display_name": "  Alice  ", "metadata": {"level": 3, "big": 123456789012345678901234567890}}');
is($r->{status}, 201, 'PUT guest: 201 created') or diag($r->{body});
like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON content type');
keys_are($r->{json}, [qw(guest_id display_name metadata created_at updated_at)], 'guest shape');
is($r->{json}{display_name}, 'Alice', 'display_name trimmed');
like($r->{body}, qr/123456789012345678901234567890/, 'a big number keeps every digit');
like($r->{json}{created_at}, $ts_re, 'created_at is RFC 3339');

$r = $gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' });
is($r->{status}, 200, 'PUT guest again: 200 updated');
is_deeply($r->{json}{metadata}, {}, 'absent metadata stores {}');

for my $g (qw(bob carol dave))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "PUT $g");
}

$r = $gw->req(GET => '/v1/guests/alice');
is($r->{status}, 200, 'GET guest: 200');
is($r->{json}{guest_id}, 'alice', 'GET guest: the guest');

ParleyTest::problem($gw->req(GET => '/v1/guests/nobody'), 404, 'guest_not_found', 'GET unknown guest: 404');
is($gw->req(GET => '/v1/guests/nobody')->{json}{sqlstate}, 'PR001', 'problem carries the SQLSTATE');

ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', '{"display_name": "Mallory", "metadata": null}'),
	400, 'validation_failed', 'metadata null: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', { metadata => {} }),
	400, 'validation_failed', 'missing display_name: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', { display_name => 7 }),
	400, 'validation_failed', 'display_name of the wrong type: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', { display_name => '   ' }),
	400, 'validation_failed', 'blank display_name: 400 (from the extension)');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', '{"display_name": "Mallory"'),
	400, 'invalid_json', 'truncated JSON: 400');
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'Alice', 'read-back: alice unchanged');

ParleyTest::problem($gw->req(PUT => '/v1/guests/bad%20id', { display_name => 'X' }),
	400, 'validation_failed', 'bad guest id: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/' . ('x' x 65), { display_name => 'X' }),
	400, 'validation_failed', 'too long guest id: 400');
is($gw->req(GET => '/v1/guests/' . ('x' x 64))->{status}, 404, 'read-back: nothing stored');

# --- auth, routing, media type, size -------------------------------------------
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', { display_name => 'NoKey' }, key => undef),
	401, 'unauthorized', 'no key: 401');
is($gw->req(GET => '/v1/guests/alice', undef, key => undef)->{headers}{'www-authenticate'},
	'Bearer', '401 names the Bearer scheme');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', { display_name => 'BadKey' }, key => 'pk_wrong'),
	401, 'unauthorized', 'unknown key: 401');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice', undef, headers => { Authorization => "Basic $key" }),
	401, 'unauthorized', 'not a Bearer key: 401');
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'Alice', 'read-back: alice unchanged');

ParleyTest::problem($gw->req(GET => '/v1/nothing'), 404, 'not_found', 'unknown route: 404');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice/'), 404, 'not_found', 'trailing slash: 404');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice', undef, key => undef) , 401, 'unauthorized', 'key before body checks');
$r = $gw->req(POST => '/v1/guests/alice', { display_name => 'X' });
ParleyTest::problem($r, 405, 'method_not_allowed', 'wrong method: 405');
is($r->{headers}{allow}, 'GET, HEAD, PUT, DELETE', '405 lists the allowed methods (HEAD with GET)');
is($gw->req(DELETE => '/v1/conversations')->{headers}{allow}, 'POST', 'Allow for /v1/conversations');

ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', '{"display_name": "Text"}', content_type => 'text/plain'),
	415, 'unsupported_media_type', 'text/plain body: 415');
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', '{"display_name": "None"}', content_type => undef),
	415, 'unsupported_media_type', 'no content type: 415');
is($gw->req(PUT => '/v1/guests/alice', '{"display_name": "Alice"}',
		content_type => 'application/json; charset=utf-8')->{status},
	200, 'application/json with charset is fine');

my $big = '{"display_name": "Big", "metadata": {"pad": "' . ('x' x 70000) . '"}}';
ParleyTest::problem($gw->req(PUT => '/v1/guests/alice', $big), 413, 'payload_too_large', 'body over 64 KiB: 413');
$r = $gw->req(PUT => '/v1/guests/alice', '{"display_name": "Huge", "pad": "' . ('x' x 300000) . '"}');
ok($r->{status} == 413 || $r->{status} == 599, 'a far larger body is refused (413 or closed)')
  or diag($r->{status});
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'Alice', 'read-back: alice unchanged');

# --- conversations -------------------------------------------------------------
$r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'direct', participants => ['bob'] });
is($r->{status}, 201, 'POST direct conversation: 201') or diag($r->{body});
# description and metadata: 0.5.0; frozen and slow_mode_s: 0.6.0
keys_are($r->{json}, [qw(id kind title created_by created_at last_seq participants description metadata frozen
	  slow_mode_s)], 'conversation shape');
like($r->{json}{id} // '', $uuid_re, 'conversation id is a UUID');
my $direct = $r->{json}{id} // '00000000-0000-0000-0000-000000000000';
keys_are($r->{json}{participants}[0], [qw(guest_id role joined_at last_read_seq)], 'participant shape');

$r = $gw->req(POST => '/v1/conversations?as=bob', { kind => 'direct', participants => ['alice'] });
is($r->{status}, 200, 'the direct pair again: 200');
is($r->{json}{id}, $direct, 'the direct pair again: same id');

$r = $gw->req(POST => '/v1/conversations?as=alice',
	{ kind => 'group', participants => [ 'bob', 'carol' ], title => 'Raid' });
is($r->{status}, 201, 'POST group: 201') or diag($r->{body});
my $group = $r->{json}{id} // '00000000-0000-0000-0000-000000000000';
is(scalar @{ $r->{json}{participants} // [] }, 3, 'group: creator + 2');
my ($owner) = grep { $_->{role} eq 'owner' } @{ $r->{json}{participants} // [] };
is($owner->{guest_id}, 'alice', 'group: the creator owns it');

ParleyTest::problem($gw->req(POST => '/v1/conversations?as=nobody', { kind => 'group', participants => ['bob'] }),
	404, 'guest_not_found', 'create as an unknown guest: 404');
ParleyTest::problem($gw->req(POST => '/v1/conversations', { kind => 'group', participants => ['bob'] }),
	400, 'validation_failed', 'create without as: 400');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=alice', { kind => 'group', participants => [ 'bob', 7 ] }),
	400, 'validation_failed', 'participants not all strings: 400');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=alice', { kind => 'group', participants => 'bob' }),
	400, 'validation_failed', 'participants not an array: 400');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=alice', { kind => 'circle', participants => ['bob'] }),
	400, 'validation_failed', 'unknown kind: 400');
$r = $gw->req(GET => '/v1/guests/alice/conversations');
is(scalar @{ $r->{json}{conversations} // [] }, 2, 'read-back: still two conversations');

$r = $gw->req(GET => "/v1/conversations/$group?as=carol");
is($r->{status}, 200, 'GET conversation: 200');
is($r->{json}{title}, 'Raid', 'GET conversation: the title');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group?as=dave"), 403, 'not_a_participant', 'GET as an outsider: 403');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group?as=nobody"), 403, 'not_a_participant', 'GET as an unknown guest: 403');
ParleyTest::problem($gw->req(GET => '/v1/conversations/0190d6a4-0000-7000-8000-000000000000?as=alice'),
	404, 'conversation_not_found', 'GET unknown conversation: 404');
ParleyTest::problem($gw->req(GET => '/v1/conversations/not-a-uuid?as=alice'), 400, 'validation_failed', 'GET bad UUID: 400');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group"), 400, 'validation_failed', 'GET without as: 400');

$r = $gw->req(GET => '/v1/guests/alice/conversations?limit=1');
is($r->{status}, 200, 'list conversations: 200');
# unread_total: 0.4.0; not through parley_proxy, whose list merge is released
keys_are($r->{json}, [ qw(conversations has_more next_before),
	(ParleyTest::shard_count($node) ? () : 'unread_total') ], 'list shape (unread_total: 0.4.0)');
is(scalar @{ $r->{json}{conversations} // [] }, 1, 'limit=1: one');
ok($r->{json}{has_more}, 'limit=1: has_more');
ok(exists $r->{json}{conversations}[0]{unread}, 'list items carry unread');
if (defined $r->{json}{next_before})
{
	my $next = $r->{json}{next_before};
	$next =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
	$r = $gw->req(GET => "/v1/guests/alice/conversations?limit=1&before=$next");
	is(scalar @{ $r->{json}{conversations} // [] }, 1, 'next page: one');
}
is($gw->req(GET => '/v1/guests/alice/conversations?as=alice')->{status}, 200, 'list with as = G: 200');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice/conversations?as=bob'), 403, 'forbidden', 'list with as != G: 403');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice/conversations?limit=abc'), 400, 'validation_failed', 'limit not a number: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice/conversations?limit=0'), 400, 'validation_failed', 'limit 0: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/alice/conversations?limit=1&limit=2'), 400, 'validation_failed', 'limit twice: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/nobody/conversations'), 404, 'guest_not_found', 'list of an unknown guest: 404');

# --- participants --------------------------------------------------------------
$r = $gw->req(POST => "/v1/conversations/$group/participants?as=bob", { guest_id => 'dave' });
is($r->{status}, 201, 'add participant: 201') or diag($r->{body});
keys_are($r->{json}, [qw(guest_id role joined_at last_read_seq)], 'participant shape');
is($gw->req(POST => "/v1/conversations/$group/participants?as=bob", { guest_id => 'dave' })->{status},
	200, 'add again: 200');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$direct/participants?as=alice", { guest_id => 'carol' }),
	409, 'conversation_is_direct', 'add to a direct conversation: 409');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/participants?as=alice", { guest_id => 'nobody' }),
	404, 'guest_not_found', 'add an unknown guest: 404');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/participants?as=alice", { guest => 'carol' }),
	400, 'validation_failed', 'add without guest_id: 400');
is(scalar @{ $gw->req(GET => "/v1/conversations/$direct?as=alice")->{json}{participants} // [] },
	2, 'read-back: direct still has two');

ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$group/participants/carol?as=bob"),
	403, 'not_the_owner', 'member removes another: 403');
$r = $gw->req(DELETE => "/v1/conversations/$group/participants/dave?as=alice");
is($r->{status}, 204, 'owner removes dave: 204');
is($r->{body} // '', '', '204 has no body');
ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$group/participants/dave?as=alice"),
	404, 'participant_not_found', 'remove again: 404');
is(scalar @{ $gw->req(GET => "/v1/conversations/$group?as=alice")->{json}{participants} // [] },
	3, 'read-back: alice, bob, carol');

# --- messages ----------------------------------------------------------------------
$r = $gw->req(POST => "/v1/conversations/$group/messages?as=alice",
	{ body => 'hello', client_msg_id => 'm-1', metadata => { n => 1 } });
is($r->{status}, 201, 'post message: 201') or diag($r->{body});
keys_are($r->{json},
	[qw(conversation_id seq id sender_id body metadata client_msg_id created_at edited_at deleted
	    reactions reply_to reply_count attachments)],
	'message shape (0.5.0: reactions, reply_to, reply_count, attachments)');
is($r->{json}{seq}, 1, 'first seq is 1');
my $first_id = $r->{json}{id};
$r = $gw->req(POST => "/v1/conversations/$group/messages?as=alice", { body => 'hello', client_msg_id => 'm-1' });
is($r->{status}, 200, 'replay: 200');
is($r->{json}{id}, $first_id, 'replay: the same message');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/messages?as=alice", { body => 'other', client_msg_id => 'm-1' }),
	409, 'idempotency_conflict', 'same client_msg_id, other body: 409');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/messages?as=dave", { body => 'intruder' }),
	403, 'not_a_participant', 'outsider posts: 403');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/messages?as=alice", { body => '' }),
	400, 'validation_failed', 'empty body: 400');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/messages?as=alice", { body => 'x', client_msg_id => 5 }),
	400, 'validation_failed', 'client_msg_id not a string: 400');
$r = $gw->req(GET => "/v1/conversations/$group/messages?as=alice");
is($r->{status}, 200, 'list messages: 200');
keys_are($r->{json}, [qw(messages has_more)], 'page shape');
is(scalar @{ $r->{json}{messages} // [] }, 1, 'read-back: one message');

is($gw->req(POST => "/v1/conversations/$group/messages?as=bob", { body => "m$_" })->{status}, 201, "post m$_")
  for 2 .. 4;
$r = $gw->req(GET => "/v1/conversations/$group/messages?as=carol&after=1&limit=2");
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} // [] } ], [ 2, 3 ], 'after=1&limit=2: 2, 3');
ok($r->{json}{has_more}, 'after=1&limit=2: has_more');
$r = $gw->req(GET => "/v1/conversations/$group/messages?as=carol&before=4&limit=2");
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} // [] } ], [ 2, 3 ], 'before=4&limit=2: 2, 3');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group/messages?as=carol&before=4&after=1"),
	400, 'validation_failed', 'before and after: 400');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group/messages?as=carol&after=x"),
	400, 'validation_failed', 'after not a number: 400');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group/messages?as=carol&limit=201"),
	400, 'validation_failed', 'limit 201: 400');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$group/messages?as=dave"), 403, 'not_a_participant', 'outsider lists: 403');

$r = $gw->req(PATCH => "/v1/conversations/$group/messages/2?as=bob", { body => 'm2 edited' });
is($r->{status}, 200, 'edit: 200') or diag($r->{body});
is($r->{json}{body}, 'm2 edited', 'edit: the new body');
ok(defined $r->{json}{edited_at}, 'edit: edited_at set');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/2?as=alice", { body => 'not mine' }),
	403, 'not_the_sender', 'edit another guest\'s message: 403');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/99?as=bob", { body => 'x' }),
	404, 'message_not_found', 'edit unknown seq: 404');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/0?as=bob", { body => 'x' }),
	400, 'validation_failed', 'seq 0: 400');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/abc?as=bob", { body => 'x' }),
	400, 'validation_failed', 'seq not a number: 400');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/99999999999999999999?as=bob", { body => 'x' }),
	404, 'message_not_found', 'seq beyond bigint: past the end, 404');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/2?as=bob", { text => 'x' }),
	400, 'validation_failed', 'edit without body: 400');
is($gw->req(GET => "/v1/conversations/$group/messages?as=bob&after=1&limit=1")->{json}{messages}[0]{body},
	'm2 edited', 'read-back: m2 as edited once');

$r = $gw->req(DELETE => "/v1/conversations/$group/messages/3?as=bob");
is($r->{status}, 204, 'delete: 204');
is($r->{body} // '', '', 'delete: no body');
$r = $gw->req(GET => "/v1/conversations/$group/messages?as=bob&after=2&limit=1");
ok($r->{json}{messages}[0]{deleted}, 'read-back: a tombstone');
ok(!defined $r->{json}{messages}[0]{body}, 'tombstone: body null');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$group/messages/3?as=bob", { body => 'revive' }),
	409, 'message_deleted', 'edit a deleted message: 409');
ParleyTest::problem($gw->req(DELETE => "/v1/conversations/$group/messages/99?as=bob"),
	404, 'message_not_found', 'delete unknown seq: 404');

# --- read markers ------------------------------------------------------------------
$r = $gw->req(POST => "/v1/conversations/$group/read?as=carol", { seq => 2 });
is($r->{status}, 200, 'read mark: 200') or diag($r->{body});
is_deeply($r->{json}, { conversation_id => $group, guest_id => 'carol', last_read_seq => 2 }, 'read mark shape');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/read?as=carol", { seq => '3' }),
	400, 'validation_failed', 'seq as a string: 400');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$group/read?as=carol", '{"seq": 2.5}'),
	400, 'validation_failed', 'seq with a fraction: 400');
is($gw->req(POST => "/v1/conversations/$group/read?as=carol", { seq => 1 })->{json}{last_read_seq},
	2, 'read-back: the marker did not move back');
$r = $gw->req(POST => "/v1/conversations/$group/read?as=carol", { seq => 1000 });
is($r->{json}{last_read_seq}, 4, 'a seq past the end is clamped');
$r = $gw->req(POST => "/v1/conversations/$group/read?as=carol", '{"seq": 99999999999999999999}');
is($r->{status}, 200, 'seq beyond bigint: 200') or diag($r->{body});
is($r->{json}{last_read_seq}, 4, 'seq beyond bigint: clamped like any seq past the end');

# --- the gateway's own statuses stay consistent -------------------------------------
$r = $gw->req(GET => '/metrics');
like($r->{body}, qr/parley_http_requests_total\{route="guest_upsert",status="201"\} \d+/,
	'metrics count requests by route and status');

$gw->stop;
$node->stop;
done_testing();

# Presence and typing across two gateways on one database (API.md section
# 8): online while a guest holds a stream on either gateway, offline within
# 2 s of its last stream closing and within 30 s of its gateway's SIGKILL;
# PUT and GET presence, the block rule, invisible; typing's throttle and
# its fan-out to both kinds of streams on both gateways, never to the
# typist; bad input answered 4xx with nothing changed.
use strict;
use warnings;

use Time::HiRes qw(time);

use ParleyTest;
use SSEClient;
use Test::More;

my $node = ParleyTest::new_node('presence');
my $key  = ParleyTest::create_key($node, 'presence-test');
my $gw1  = ParleyTest->start(node => $node, key => $key, name => 'presence1');
my $gw2  = ParleyTest->start(node => $node, key => $key, name => 'presence2');

my $ts_re = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

for my $g (qw(ann ben cat dan eve))
{
	is($gw1->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}
is($gw1->req(PUT => '/v1/guests/ann/friends/ben')->{status}, 201, 'ann asks ben');
is($gw1->req(PUT => '/v1/guests/ben/friends/ann')->{status}, 200, 'ben accepts');
my $r = $gw1->req(POST => '/v1/conversations?as=ann', { kind => 'direct', participants => ['cat'] });
is($r->{status}, 201, 'ann and cat: a direct conversation');
my $direct = $r->{json}{id};
$r = $gw1->req(POST => '/v1/conversations?as=ann', { kind => 'group', participants => [qw(ben cat)] });
is($r->{status}, 201, 'a group of ann, ben and cat');
my $group = $r->{json}{id};

# The presence of ids as viewer sees it on gateway gw: {id => entry}.
sub presence
{
	my ($gw, $viewer, @ids) = @_;
	my $r = $gw->req(GET => "/v1/presence?as=$viewer&ids=" . join(',', @ids));
	return undef unless $r->{status} == 200;
	return { map { $_->{guest_id} => $_ } @{ $r->{json}{presence} } };
}
sub status_of { my $p = presence(@_[0 .. 2]); return $p && $p->{ $_[2] } ? $p->{ $_[2] }{status} : '?'; }

sub stream
{
	my ($gw, $path) = @_;
	my $s = SSEClient->open($gw->{port}, $path, key => $key);
	is($s->status, 200, "stream $path on $gw->{port} opened");
	$s->wait_until(sub { $s->comments > 0 }, 10);
	return $s;
}

sub of_kind { my ($s, $kind) = @_; $s->pump(0); return grep { ($_->{event} // '') eq $kind } $s->events; }

# Guest streams (GET /v1/guests/{G}/events, 025) carry presence too.  (A
# GET of one would stay open: it cannot serve as a probe.)
my $guest_streams = 1;

ok(ParleyTest::poll_until(sub { $gw1->metric('parley_presence_gateways') == 2 && $gw2->metric('parley_presence_gateways') == 2 }, 15),
	'each gateway hears the other');

# --- GET: shape, unknown ids left out, offline at first -----------------------
$r = $gw2->req(GET => '/v1/presence?as=ben&ids=ann,nobody,cat');
is($r->{status}, 200, 'GET presence') or diag($r->{body});
is_deeply([ map { $_->{guest_id} } @{ $r->{json}{presence} } ], [qw(ann cat)], 'in the order asked, unknown ids left out');
is_deeply([ sort keys %{ $r->{json}{presence}[0] } ], [qw(activity guest_id last_seen_at status)], 'presence shape');
is($r->{json}{presence}[0]{status}, 'offline', 'ann offline: no stream');

# --- online across gateways ---------------------------------------------------
my $ben_guest = $guest_streams ? stream($gw2, '/v1/guests/ben/events') : undef;
my $t0 = time;
my $ann1 = stream($gw1, "/v1/conversations/$group/events?as=ann");
ok(ParleyTest::poll_until(sub { status_of($gw2, 'ben', 'ann') eq 'online' }, 10),
	'a stream of ann on gateway 1: online as gateway 2 sees it');
diag(sprintf('online on the other gateway after %.2f s', time - $t0));
ok(!defined presence($gw2, 'ben', 'ann')->{ann}{last_seen_at}, 'last_seen_at null while online');
if ($guest_streams)
{
	ok($ben_guest->wait_until(sub { grep { $_->{data} =~ /"guest_id":\s*"ann"/ && $_->{data} =~ /"online"/ } of_kind($ben_guest, 'presence') }, 10),
		'ben\'s guest stream on gateway 2 gets ann\'s presence online');
}

# --- PUT -----------------------------------------------------------------------
$r = $gw2->req(PUT => '/v1/guests/ann/presence', { status => 'away', activity => { game => 'chess' } });
is($r->{status}, 200, 'PUT presence on gateway 2') or diag($r->{body});
is_deeply($r->{json}, { guest_id => 'ann', status => 'away', activity => { game => 'chess' }, last_seen_at => undef },
	'answers ann\'s presence as others see it (online on gateway 1)');
my $p = presence($gw1, 'ben', 'ann');
is_deeply([ $p->{ann}{status}, $p->{ann}{activity} ], [ 'away', { game => 'chess' } ], 'ben sees away and the activity');
$r = $gw1->req(PUT => '/v1/guests/ann/presence', { status => 'busy' });
is_deeply([ $r->{json}{status}, $r->{json}{activity} ], [ 'busy', { game => 'chess' } ], 'an absent activity keeps it');
$r = $gw1->req(PUT => '/v1/guests/ann/presence', { status => 'busy', activity => undef });
is_deeply([ $r->{json}{status}, $r->{json}{activity} ], [ 'busy', undef ], 'activity null clears it');
$r = $gw1->req(PUT => '/v1/guests/cat/presence', { status => 'away' });
is($r->{json}{status}, 'offline', 'cat holds no stream: it shows offline whatever it set');
if ($guest_streams)
{
	ok($ben_guest->wait_until(sub { grep { $_->{data} =~ /"busy"/ } of_kind($ben_guest, 'presence') }, 10),
		'ben gets ann\'s change of status');
}

# --- bad input: 4xx, nothing changed ------------------------------------------
# What parley.presence holds (against a proxy: on every shard, the same).
sub presence_rows
{
	return ParleyTest::data_same($node, q{
		SELECT coalesce(string_agg(guest_id || status || coalesce(activity::text, '-'), ',' ORDER BY guest_id), '-')
		  FROM parley.presence});
}
my $before = presence_rows();
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', { status => 'sleeping' }), 400, 'validation_failed', 'unknown status: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', { status => '' }), 400, 'validation_failed', 'empty status: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', {}), 400, 'validation_failed', 'no status: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', { status => 'away', activity => [1] }), 400, 'validation_failed', 'activity an array: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', { status => 'away', activity => 'x' }), 400, 'validation_failed', 'activity a string: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', { status => 'away', activity => { a => 'x' x 1020 } }), 400, 'validation_failed', 'activity over 1 KiB: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence', '{"status": "away"', ), 400, 'invalid_json', 'malformed JSON: 400');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/nobody/presence', { status => 'away' }), 404, 'guest_not_found', 'unknown guest: 404');
ParleyTest::problem($gw1->req(PUT => '/v1/guests/ann/presence?as=ben', { status => 'away' }), 403, 'guest_mismatch', 'as another guest: 403');
ParleyTest::problem($gw1->req(GET => '/v1/presence?as=ben'), 400, 'validation_failed', 'GET without ids: 400');
ParleyTest::problem($gw1->req(GET => '/v1/presence?ids=ann'), 400, 'validation_failed', 'GET without as: 400');
ParleyTest::problem($gw1->req(GET => '/v1/presence?as=ben&ids=ann,bad%20id'), 400, 'validation_failed', 'a malformed id: 400');
ParleyTest::problem($gw1->req(GET => '/v1/presence?as=ben&ids=' . join(',', map { "g$_" } 1 .. 101)), 400, 'validation_failed', '101 ids: 400');
ParleyTest::problem($gw1->req(GET => '/v1/presence?as=nobody&ids=ann'), 404, 'guest_not_found', 'as an unknown guest: 404');
is(scalar keys %{ presence($gw1, 'ben', map { "g$_" } 1 .. 100) }, 0, '100 unknown ids: 200, none known');
is(presence_rows(), $before, 'the refused requests changed nothing');

# --- blocks and invisible --------------------------------------------------------
is($gw1->req(PUT => '/v1/guests/dan/blocks/ann')->{status}, 200, 'dan blocks ann');
$p = presence($gw2, 'dan', 'ann');
is_deeply($p->{ann}, { guest_id => 'ann', status => 'offline', activity => undef, last_seen_at => undef }, 'the blocker sees ann offline');
my $dan = stream($gw2, '/v1/conversations/' . $gw1->req(POST => '/v1/conversations?as=dan', { kind => 'group', participants => ['eve'] })->{json}{id} . '/events?as=dan');
ok(ParleyTest::poll_until(sub { status_of($gw2, 'eve', 'dan') eq 'online' }, 10), 'dan online to eve');
is(status_of($gw1, 'ann', 'dan'), 'offline', 'the blocked one sees the blocker offline too');
$dan->close;

$r = $gw1->req(PUT => '/v1/guests/ann/presence', { status => 'invisible', activity => { x => 1 } });
is_deeply([ $r->{json}{status}, $r->{json}{activity} ], [ 'offline', undef ], 'invisible: answered as others see it, offline');
is(status_of($gw2, 'ben', 'ann'), 'offline', 'ben sees invisible ann offline');
is($gw1->req(PUT => '/v1/guests/ann/presence', { status => 'online', activity => undef })->{json}{status}, 'online', 'visible again');

# --- typing ----------------------------------------------------------------------
my $ben2 = stream($gw2, "/v1/conversations/$group/events?as=ben");
my $cat1 = stream($gw1, "/v1/conversations/$group/events?as=cat");
$ben_guest->pump(0) if $ben_guest;
my $guest_typing_before = $ben_guest ? scalar of_kind($ben_guest, 'typing') : 0;
$r = $gw1->req(POST => "/v1/conversations/$group/typing?as=ann");
is($r->{status}, 204, 'POST typing: 204') or diag($r->{body});
my $t_first = time;
for my $s ([ $ben2, 'ben on gateway 2' ], [ $cat1, 'cat on gateway 1' ])
{
	ok($s->[0]->wait_until(sub { of_kind($s->[0], 'typing') >= 1 }, 10), "$s->[1] gets typing");
	my ($ev) = of_kind($s->[0], 'typing');
	is_deeply($ParleyTest::JSON->decode($ev->{data}), { conversation_id => $group, guest_id => 'ann', expires_in_ms => 5000 },
		'... {conversation_id, guest_id, expires_in_ms: 5000}');
	ok(!defined $ev->{id}, '... with no id: line');
}
if ($ben_guest)
{
	ok($ben_guest->wait_until(sub { of_kind($ben_guest, 'typing') > $guest_typing_before }, 10), 'ben\'s guest stream gets it too');
}
# a burst within 2 s on the same gateway: none forwarded (the throttle is
# kept per gateway, API.md section 8's fine points)
my $checks = $gw1->metric('parley_typing_checks_total');
for (1 .. 5)
{
	is($gw1->req(POST => "/v1/conversations/$group/typing?as=ann")->{status}, 204, 'typing again: 204');
}
is($gw1->metric('parley_typing_checks_total'), $checks, 'the cached check: no statement for them');
$ann1->pump(0.5);
$ben2->pump(0.5);
if (time - $t_first < 1.9)
{
	is(scalar of_kind($ben2, 'typing'), 1, 'the burst within 2 s is not forwarded');
}
is(scalar of_kind($ann1, 'typing'), 0, 'the typist\'s own stream gets no typing');
ParleyTest::poll_until(sub { time - $t_first > 2.1 }, 5);
is($gw1->req(POST => "/v1/conversations/$group/typing?as=ann")->{status}, 204, 'typing after 2 s');
ok($ben2->wait_until(sub { of_kind($ben2, 'typing') >= 2 }, 10), 'forwarded again after the throttle');
is(scalar of_kind($ann1, 'typing'), 0, 'still none to the typist');

ParleyTest::problem($gw1->req(POST => "/v1/conversations/$group/typing?as=dan"), 403, 'not_a_participant', 'typing by a non-participant: 403');
ParleyTest::problem($gw1->req(POST => "/v1/conversations/$group/typing?as=nobody"), 403, 'not_a_participant', 'typing as an unknown guest: 403');
ParleyTest::problem($gw1->req(POST => '/v1/conversations/00000000-0000-4000-8000-000000000000/typing?as=ann'), 404, 'conversation_not_found', 'typing in an unknown conversation: 404');
ParleyTest::problem($gw1->req(POST => '/v1/conversations/not-a-uuid/typing?as=ann'), 400, 'validation_failed', 'typing in a malformed id: 400');
ParleyTest::problem($gw1->req(POST => "/v1/conversations/$group/typing"), 400, 'validation_failed', 'typing without as: 400');
$ben2->pump(0.3);
is(scalar(grep { $_->{data} =~ /"dan"|"nobody"/ } of_kind($ben2, 'typing')), 0, 'refused typing is sent nowhere');

# a removed participant is checked again (the cache forgets it)
is($gw1->req(POST => "/v1/conversations/$group/typing?as=cat")->{status}, 204, 'cat types');
is($gw1->req(DELETE => "/v1/conversations/$group/participants/cat?as=cat")->{status}, 204, 'cat leaves');
ok(ParleyTest::poll_until(sub { $gw1->req(POST => "/v1/conversations/$group/typing?as=cat")->{status} == 403 }, 5),
	'cat\'s typing is refused once it left');

# --- offline within 2 s of the last stream closing -------------------------------------
$cat1->close;
$ben2->close;
my $ann2 = stream($gw2, "/v1/conversations/$group/events?as=ann");
$ann1->close;
ParleyTest::poll_until(sub { 0 }, 2.5);
is(status_of($gw1, 'ben', 'ann'), 'online', 'ann\'s stream on gateway 2 keeps her online after gateway 1\'s closed');
$ann2->close;
$t0 = time;
ok(ParleyTest::poll_until(sub { status_of($gw1, 'ben', 'ann') eq 'offline' }, 10), 'the last stream closed: offline');
my $took = time - $t0;
diag(sprintf('offline after %.2f s', $took));
ok($took < 2.5, 'within 2 s (and a poll)');
like(presence($gw1, 'ben', 'ann')->{ann}{last_seen_at} // '', $ts_re, 'last_seen_at recorded');

# --- SIGTERM: a stopping gateway's guests leave at once --------------------------------
my $gw3 = ParleyTest->start(node => $node, key => $key, name => 'presence3');
my $cat3 = stream($gw3, "/v1/conversations/$direct/events?as=cat");
ok(ParleyTest::poll_until(sub { status_of($gw1, 'ann', 'cat') eq 'away' }, 10), 'cat online (away, as it set) through gateway 3');
$gw3->stop('presence3');
$t0 = time;
ok(ParleyTest::poll_until(sub { status_of($gw1, 'ann', 'cat') eq 'offline' }, 35), 'gateway 3 stopped: cat offline on gateway 1');
$took = time - $t0;
diag(sprintf('offline after the SIGTERM in %.1f s', $took));
ok($took < 5, 'at once (the gateway said it stops), not after the expiry');
$cat3->close;

# --- SIGKILL of a gateway: its guests offline within 30 s -----------------------------
my $eve2 = stream($gw2, "/v1/conversations/$group/events?as=ben");
ok(ParleyTest::poll_until(sub { status_of($gw1, 'ann', 'ben') eq 'online' }, 10), 'ben online through gateway 2');
$gw2->signal('KILL');
$gw2->wait_exit(10);
$t0 = time;
ok(ParleyTest::poll_until(sub { status_of($gw1, 'ann', 'ben') eq 'offline' }, 35), 'gateway 2 killed: ben offline on gateway 1');
$took = time - $t0;
diag(sprintf('offline after the SIGKILL in %.1f s', $took));
ok($took <= 30, 'within 30 s');
like(presence($gw1, 'ann', 'ben')->{ben}{last_seen_at} // '', $ts_re, 'last_seen_at recorded for the dead gateway\'s guest');
$eve2->close;

$gw1->stop;
done_testing();

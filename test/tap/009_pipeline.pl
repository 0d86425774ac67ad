
# libpq pipeline mode in the pool (gateway/db/conn.c, docs/gateway.md
# "Pipelining"), with one database connection so that what is in flight is
# known: reads are pipelined behind reads up to PARLEY_PIPELINE and each
# answer reaches its own request; nothing is pipelined behind a write; a
# request that times out behind another is cancelled when its turn comes
# and the connection serves again; PARLEY_PIPELINE=1 never pipelines.
# A lock on parley.guests held by a psql session makes the statements wait
# where the test wants them.
#
# On a busy machine: every wait is for a condition with a generous deadline,
# and the request timeout is far longer than any of them (a request held by
# the lock must not time out while the test is still checking where it
# waits), except in the part about timeouts, where the timeout is the point.
#
# The service key cache is loaded once at start and then not again while a
# part runs (PARLEY_KEY_REFRESH_MS at its maximum, 60 s): its refresh is a
# pool job of its own.  At the default 500 ms it used to land in the middle
# of a part: pipelined into one of the four places (two reads waited, not
# one), or queued beside the read the test counts; and once a lock had held
# the one connection for over 10 s, the cache was stale, so a request sent
# right after the lock was gone could be refused 503 ("service keys are not
# loaded yet") before the next refresh: the read-back's flake under load.
use strict;
use warnings;

use ParleyTest;
use Test::More;

my $wait_s     = 60;        # deadline of each poll_until
my $timeout_ms = 300_000;   # PARLEY_REQUEST_TIMEOUT_MS where no timeout is wanted
my %quiet_keys = (PARLEY_KEY_REFRESH_MS => 60_000);

my $node = ParleyTest::new_node('pipeline');
my $key  = ParleyTest::create_key($node, 'pipeline-test');
my $role = ParleyTest::data_role($node);

sub lock_waiters
{
	return $node->safe_psql(ParleyTest::guest_db($node, 'g1'),
		"SELECT count(*) FROM pg_stat_activity WHERE usename = '$role' AND wait_event_type = 'Lock'");
}

# Lock the guests table (on the shard of g1 under a proxy) until unlock().
my $bg;
sub lock_guests
{
	$bg = $node->background_psql(ParleyTest::guest_db($node, 'g1'));
	$bg->query_safe('BEGIN');
	$bg->query_safe('LOCK TABLE parley.guests IN ACCESS EXCLUSIVE MODE');
}
sub unlock_guests { $bg->query_safe('COMMIT'); $bg->quit; }

my $gw = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_POOL_SIZE => 1, PARLEY_PIPELINE => 4, PARLEY_QUEUE_SIZE => 100,
		PARLEY_REQUEST_TIMEOUT_MS => $timeout_ms, %quiet_keys });
for my $i (1 .. 30)
{
	is($gw->req(PUT => "/v1/guests/g$i", { display_name => "Guest $i" })->{status}, 201, "guest g$i")
	  or BAIL_OUT('cannot create guests');
}

# --- reads: four in flight on the one connection, the fifth waits ------------
lock_guests();
my @socks = map { $gw->send_async('GET', "/v1/guests/g$_") } 1 .. 5;
ok(ParleyTest::poll_until(sub { $gw->metric('parley_pool_waiting') == 1 }, $wait_s),
	'5 reads, 1 connection, PARLEY_PIPELINE=4: one waits in the queue, four are on the connection');
ok(ParleyTest::poll_until(sub { lock_waiters() == 1 }, $wait_s), 'the first one waits on the lock in the database');
cmp_ok($gw->metric('parley_pool_pipelined_total'), '>=', 3, 'three were sent behind it');
unlock_guests();
for my $i (1 .. 5)
{
	my $resp = ParleyTest::read_response($socks[ $i - 1 ]);
	like($resp, qr{^HTTP/1\.1 200}, "read $i: 200 once the lock is gone");
	like($resp, qr{"guest_id":\s*"g$i"}, "read $i: its own guest");
}

# --- many reads and writes at once: every answer to its own request ----------
{
	my @reqs;
	for my $i (1 .. 30)
	{
		push @reqs, [ "g$i", $gw->send_async('GET', "/v1/guests/g$i") ];
		push @reqs, [ "w$i", $gw->send_async('PUT', "/v1/guests/w$i", qq({"display_name": "W $i"})) ];
	}
	my $wrong = 0;
	for my $r (@reqs)
	{
		my ($id, $s) = @$r;
		my $resp = ParleyTest::read_response($s);
		my $want = $id =~ /^w/ ? 201 : 200;
		$wrong++ unless $resp =~ m{^HTTP/1\.1 $want} && $resp =~ /"guest_id":\s*"\Q$id\E"/;
	}
	is($wrong, 0, '60 concurrent reads and writes on one connection: each answer is its own');
	is(ParleyTest::data_same($node, q{SELECT count(*) FROM parley.guests WHERE guest_id LIKE 'w%'}),
		30, 'and the 30 writes are stored');
}

# --- nothing is pipelined behind a write ------------------------------------
lock_guests();
my $w = $gw->send_async('PUT', '/v1/guests/g1', '{"display_name": "Written"}');
ok(ParleyTest::poll_until(sub { lock_waiters() == 1 }, $wait_s), 'a write waits on the lock');
my $r1 = $gw->send_async('GET', '/v1/guests/g2');
ok(ParleyTest::poll_until(sub { $gw->metric('parley_pool_waiting') == 1 }, $wait_s),
	'a read after it waits in the queue, not behind the write');
unlock_guests();
like(ParleyTest::read_response($w),  qr{^HTTP/1\.1 200}, 'the write completes');
like(ParleyTest::read_response($r1), qr{"guest_id":\s*"g2"}, 'then the read');
{
	my $back = $gw->req(GET => '/v1/guests/g1');
	is($back->{json}{display_name}, 'Written', 'read-back of the write')
	  or diag("status $back->{status}: " . ($back->{body} // '(no body)'));
}
$gw->stop;

# --- a timeout behind another statement ---------------------------------------
$gw = ParleyTest->start(node => $node, key => $key, name => 'pipeline-timeout',
	env => { PARLEY_POOL_SIZE => 1, PARLEY_PIPELINE => 4, PARLEY_REQUEST_TIMEOUT_MS => 800, %quiet_keys });
# Guests the lock holds up (against a proxy: those on g1's shard).
my @held = (grep { ParleyTest::guest_db($node, "g$_") eq ParleyTest::guest_db($node, 'g1') } 1 .. 30)[ 0 .. 2 ];
lock_guests();
my @late = map { $gw->send_async('GET', "/v1/guests/g$_") } @held;
for my $i (1 .. 3)
{
	my $resp = ParleyTest::read_response($late[ $i - 1 ]);
	like($resp, qr{^HTTP/1\.1 503}, "blocked read $i: 503 after the timeout");
	like($resp, qr{"code":"database_timeout"}, "blocked read $i: database_timeout");
}
ok(ParleyTest::poll_until(sub { lock_waiters() == 0 }, $wait_s),
	'all three statements were cancelled in the database, not only the first');
unlock_guests();
ok(ParleyTest::poll_until(sub { ($gw->req(GET => '/v1/guests/g7')->{json}{guest_id} // '') eq 'g7' }, $wait_s),
	'the connection serves again, with the right answers');
is($gw->metric('parley_pool_connections_lost_total'), 0, 'without being dropped');
$gw->stop;

# --- PARLEY_PIPELINE=1: one at a time --------------------------------------------
$gw = ParleyTest->start(node => $node, key => $key, name => 'pipeline-off',
	env => { PARLEY_POOL_SIZE => 1, PARLEY_PIPELINE => 1, PARLEY_REQUEST_TIMEOUT_MS => $timeout_ms, %quiet_keys });
lock_guests();
@socks = map { $gw->send_async('GET', "/v1/guests/g$_") } 1 .. 3;
ok(ParleyTest::poll_until(sub { $gw->metric('parley_pool_waiting') == 2 }, $wait_s),
	'PARLEY_PIPELINE=1: with one read running, the other two wait in the queue');
unlock_guests();
like(ParleyTest::read_response($_), qr{^HTTP/1\.1 200}, 'and complete') for @socks;
is($gw->metric('parley_pool_pipelined_total'), 0, 'nothing was pipelined');
$gw->stop;

done_testing();

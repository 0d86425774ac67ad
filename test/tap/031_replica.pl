# Read replicas (PARLEY_READ_URL, gateway/db/replica.h, docs/scaling.md
# "Read replicas"): a real streaming replica made with pg_basebackup.
#
#  - Before the replica exists, reads go to the primary and answer 200.
#  - Once it is up, GETs reach it.
#  - With the replica delayed (recovery_min_apply_delay = 1h, so that it
#    surely has not applied anything new while the test looks), a guest
#    that posts and then lists sees its post at once (read from the
#    primary), while another guest reads the replica's stale page.
#  - The replica stopped: every read is answered 200, from the primary.
#  - The replica back, without the delay: it catches up and reads go to it
#    again, the writer's included.
#
# On a busy machine: every wait is a condition with a generous deadline;
# the 1 h delay and a read-your-writes window of 10 min make the stale and
# fresh pages deterministic.
use strict;
use warnings;

use ParleyTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $wait_s = 120;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "max_connections = 100\n");
$primary->start;
ParleyTest::setup_database($primary, 'postgres');
my $key = ParleyTest::create_key($primary, 'replica-test');

# Its port is known now; it is made from a backup further down.
my $replica = PostgreSQL::Test::Cluster->new('replica');

my $gw = ParleyTest->start(
	node => $primary,
	key  => $key,
	env  => {
		PARLEY_READ_URL       => ParleyTest::gateway_conninfo($replica),
		PARLEY_READ_WINDOW_MS => 600_000,
		PARLEY_READ_POLL_MS   => 50,
		PARLEY_POOL_SIZE      => 2,
		PARLEY_READ_POOL_SIZE => 2,
	});

# parley_reads_total{pool=...,reason=...}, or another labelled series.
sub series
{
	my ($name, $labels) = @_;
	my $m = $gw->req(GET => '/metrics')->{body} // '';
	return $m =~ /^\Q$name\E\{\Q$labels\E\} (\d+)$/m ? $1 : undef;
}
sub on_replica { return series('parley_reads_total', 'pool="replica",reason="replayed"') }
sub recent     { return series('parley_reads_total', 'pool="primary",reason="recent_write"') }
sub down       { return series('parley_reads_total', 'pool="primary",reason="replica_down"') }

my $failures = 0;

# The bodies of a conversation's messages as $as sees them (must be 200).
sub bodies
{
	my ($cid, $as) = @_;
	my $r = $gw->req(GET => "/v1/conversations/$cid/messages?as=$as&limit=200");
	if ($r->{status} != 200)
	{
		$failures++;
		diag("GET messages as $as: $r->{status} $r->{body}");
		return '';
	}
	return join ',', map { $_->{body} } @{ $r->{json}{messages} };
}

# --- no replica yet: the primary answers --------------------------------------
for my $g (qw(g1 g2 g3))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => "Guest $g" })->{status}, 201, "guest $g");
}
my $cid = $gw->req(POST => '/v1/conversations?as=g1',
	{ kind => 'group', participants => [qw(g2 g3)], title => 'replicated' })->{json}{id};
ok($cid, 'a group conversation');
is($gw->req(POST => "/v1/conversations/$cid/messages?as=g1", { body => 'one' })->{status}, 201, 'post one');
is(bodies($cid, 'g2'), 'one', 'replica not there yet: g2 reads from the primary');
like($gw->req(GET => '/metrics')->{body}, qr/^parley_replica_up 0$/m, 'metrics: replica down');
cmp_ok(down(), '>=', 1, 'counted as a read on the primary, replica down');

# --- a streaming replica from pg_basebackup, delayed by an hour -----------------
# The delay applies only once the replica is consistent, so it has all that
# the backup holds (the guests, the conversation, "one").
$primary->backup('base');
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->append_conf('postgresql.conf', "max_connections = 100\nrecovery_min_apply_delay = '1h'\n");
$replica->start;

ok(ParleyTest::poll_until(sub { $gw->req(GET => '/metrics')->{body} =~ /^parley_replica_up 1$/m }, $wait_s),
	'the read pool connects to the replica');

# g2 wrote its guest row before the backup: once the replay position is
# polled, its reads go to the replica.
my $before = on_replica();
ok(ParleyTest::poll_until(sub { bodies($cid, 'g2'); on_replica() > $before }, $wait_s),
	'GETs reach the replica');
is(bodies($cid, 'g2'), 'one', 'the replica has what the backup had');
like($gw->log_text, qr{^.*GET /v1/conversations/\S+ 200 .*\(replica\)$}m, 'the log line says (replica)');

# --- read your writes under a delayed replica ----------------------------------
is($gw->req(POST => "/v1/conversations/$cid/messages?as=g1", { body => 'two' })->{status}, 201, 'g1 posts two');
my $recent0 = recent();
is(bodies($cid, 'g1'), 'one,two', 'the writer sees its post at once');
cmp_ok(recent(), '>', $recent0, '... read from the primary (recent write)');
is(bodies($cid, 'g1'), 'one,two', '... and again');
$before = on_replica();
is(bodies($cid, 'g2'), 'one', 'another guest reads the stale page of the delayed replica');
cmp_ok(on_replica(), '>', $before, '... from the replica');

# A guest route: the path's guest acts.
is($gw->req(PUT => '/v1/guests/g3', { display_name => 'Renamed' })->{status}, 200, 'g3 renames itself');
is($gw->req(GET => '/v1/guests/g3')->{json}{display_name}, 'Renamed', 'and reads its new name');

ok(ParleyTest::poll_until(sub { (($gw->req(GET => '/metrics')->{body} =~ /^parley_replica_lag_bytes (\d+)$/m)[0] // 0) > 0 },
		$wait_s), 'metrics: the replay lag is seen');

# --- the replica goes down: reads go to the primary, all answered ----------------
$replica->stop('fast');
my $down0 = down();
my $all_ok = 1;
for my $i (1 .. 30)
{
	for my $g (qw(g1 g2 g3))
	{
		my $r = $gw->req(GET => "/v1/conversations/$cid/messages?as=$g");
		$all_ok = 0, diag("replica down, GET as $g: $r->{status} $r->{body}") if $r->{status} != 200;
	}
}
ok($all_ok, 'replica down: every read answered 200');
cmp_ok(down(), '>', $down0, '... from the primary');
ok(ParleyTest::poll_until(sub { bodies($cid, 'g2') eq 'one,two' }, $wait_s),
	'... which has the fresh page for g2');
like($gw->req(GET => '/metrics')->{body}, qr/^parley_replica_up 0$/m, 'metrics: replica down');
is($gw->req(GET => '/readyz')->{status}, 200, 'parleyd stays ready without its replica');

# --- the replica back, without the delay: reads resume on it --------------------
$replica->append_conf('postgresql.conf', "recovery_min_apply_delay = 0\n");
$replica->start;
$primary->wait_for_catchup($replica);
is($replica->safe_psql('postgres', 'SELECT count(*) FROM parley.messages'), 2, 'the replica replayed two');
$before = on_replica();
ok(ParleyTest::poll_until(sub { bodies($cid, 'g2') eq 'one,two' && on_replica() > $before }, $wait_s),
	'reads resume on the replica, which has caught up');
$before = on_replica();
ok(ParleyTest::poll_until(sub { bodies($cid, 'g1'); on_replica() > $before }, $wait_s),
	'the writer reads from the replica once its write is replayed (before the window ends)');
is(bodies($cid, 'g1'), 'one,two', '... and sees its post there');

is($failures, 0, 'every read answered 200');
$gw->stop('parleyd');

# --- a read database with no replay position (a proxy, here the primary) ---------
# pg_last_wal_replay_lsn() is NULL there: a writer reads from the primary
# for its whole window, then from the read pool; others read it at once.
$gw = ParleyTest->start(
	node => $primary,
	key  => $key,
	name => 'noreplay',
	env  => {
		PARLEY_READ_URL       => ParleyTest::gateway_conninfo($primary),
		PARLEY_READ_WINDOW_MS => 1000,
		PARLEY_READ_POLL_MS   => 50,
	});
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/metrics')->{body} =~ /^parley_replica_up 1$/m }, $wait_s),
	'no replay position: the read pool connects');
is($gw->req(POST => "/v1/conversations/$cid/messages?as=g3", { body => 'three' })->{status}, 201, 'g3 posts three');
$recent0 = recent();
is(bodies($cid, 'g3'), 'one,two,three', 'the writer sees its post');
cmp_ok(recent(), '>', $recent0, '... from the primary, inside its window');
$before = on_replica();
bodies($cid, 'g2');
cmp_ok(on_replica(), '>', $before, 'another guest reads the read pool');
ok(ParleyTest::poll_until(sub { my $n = on_replica(); bodies($cid, 'g3'); on_replica() > $n }, $wait_s),
	'after its window the writer reads the read pool too');
unlike($gw->req(GET => '/metrics')->{body}, qr/^parley_replica_lag_bytes/m, 'no lag without a replay position');
is($failures, 0, 'every read answered 200');
$gw->stop('noreplay');
$replica->stop;
$primary->stop;
done_testing();

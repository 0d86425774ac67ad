
# Start-up failures and their one-line causes, a database that comes late,
# a database restart under parleyd, the request timeout (the statement is
# cancelled), the bounded wait queue, and SIGTERM draining.
use strict;
use warnings;

use IO::Socket::INET;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $node = ParleyTest::new_node('life');
my $key  = ParleyTest::create_key($node, 'life-test');

# A request on its own connection, answered later (Connection: close).
# Run parleyd until it exits; returns (exit code, stderr lines, seconds).
sub run_to_exit
{
	my (%env) = @_;
	my $t0 = time();
	my $gw = ParleyTest->start(wait => 'none', env => { PARLEY_CONNECT_TIMEOUT => 2, %env });
	my $code = $gw->wait_exit(30);
	my @lines = grep { /^parleyd: / } split /\n/, $gw->log_text;
	$gw->check_log('parleyd (start-up failure)');
	return ($code, $lines[-1] // '', time() - $t0);
}

# --- start-up failures ----------------------------------------------------------------
my $dead_port = PostgreSQL::Test::Cluster::get_free_port();
my ($code, $line, $secs) = run_to_exit(DATABASE_URL => "host=127.0.0.1 port=$dead_port dbname=postgres connect_timeout=1");
is($code, 1, 'unreachable database: exit 1');
like($line, qr/^parleyd: cannot start: database unreachable: /, 'unreachable: the cause in one line');
cmp_ok($secs, '<', 10, 'gave up after PARLEY_CONNECT_TIMEOUT');

$node->safe_psql('postgres', 'CREATE DATABASE noext');
($code, $line) = run_to_exit(DATABASE_URL => ParleyTest::gateway_conninfo($node, 'noext'));
is($code, 1, 'no extension: exit 1');
like($line, qr/cannot start: extension missing/, 'no extension: named');

$node->safe_psql('postgres', 'CREATE DATABASE oldext');
ParleyTest::setup_database($node, 'oldext');
$node->safe_psql('oldext', "UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'parley'");
($code, $line) = run_to_exit(DATABASE_URL => ParleyTest::gateway_conninfo($node, 'oldext'));
is($code, 1, 'old extension: exit 1');
like($line, qr/cannot start: extension wrong version: parley 0\.0\.1/, 'old extension: named');

$node->safe_psql('postgres', "CREATE ROLE pwuser LOGIN PASSWORD 'right'");
my $hba = $node->data_dir . '/pg_hba.conf';
open(my $in, '<', $hba) or die;
my $old_hba = do { local $/; <$in> };
close($in);
open(my $out, '>', $hba) or die;
print $out "local all pwuser scram-sha-256\n$old_hba";
close($out);
$node->reload;
($code, $line) = run_to_exit(DATABASE_URL => ParleyTest::gateway_conninfo($node) =~ s/user=parley_gateway/user=pwuser password=wrong/r);
is($code, 1, 'wrong password: exit 1');
like($line, qr/cannot start: authentication failed/, 'wrong password: named');

# --- a database that comes late ----------------------------------------------------------
$node->stop;
my $gw = ParleyTest->start(node => $node, key => $key, wait => 'healthy', env => { PARLEY_CONNECT_TIMEOUT => 30 });
my $r = $gw->req(GET => '/readyz');
is($r->{status}, 503, '/readyz 503 while the database is down');
is($gw->req(GET => '/v1/guests/alice')->{status}, 503, '/v1 503 before the keys are loaded');
$node->start;
$gw->wait_for('/readyz', 30);
pass('ready once the database is up, without a restart');
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'serving');

# --- database restart -----------------------------------------------------------------
$node->stop('fast');
$r = $gw->req(GET => '/v1/guests/alice');
is($r->{status}, 503, 'database down: 503');
is($r->{json}{code}, 'database_unavailable', 'database down: database_unavailable');
ok(($r->{headers}{'retry-after'} // '') =~ /^\d+$/, 'database down: Retry-After');
is($gw->req(GET => '/readyz')->{status}, 503, 'database down: /readyz 503');
is($gw->req(GET => '/healthz')->{status}, 200, 'database down: /healthz 200');
$node->start;
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice')->{status} == 200 }, 15),
	'database back: serving again without restarting parleyd');
like($gw->req(GET => '/metrics')->{body}, qr/^parley_pool_connections_lost_total [1-9]/m,
	'lost connections are counted');
$gw->stop('parleyd (restart)');

# --- request timeout, queue bound, drain ------------------------------------------------
$gw = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_POOL_SIZE => 1, PARLEY_QUEUE_SIZE => 1, PARLEY_REQUEST_TIMEOUT_MS => 800 });
# The lock is taken where alice's row is (against a proxy: her home shard,
# one of those her upsert runs on), and the API's statements run there as
# ParleyTest::data_role.
my $bg = $node->background_psql(ParleyTest::guest_db($node, 'alice'));
my $role = ParleyTest::data_role($node);
$bg->query_safe('BEGIN');
$bg->query_safe("SELECT 1 FROM parley.guests WHERE guest_id = 'alice' FOR UPDATE");

my $t0 = time();
$r = $gw->req(PUT => '/v1/guests/alice', { display_name => 'Late' });
is($r->{status}, 503, 'blocked statement: 503 after the timeout');
is($r->{json}{code}, 'database_timeout', 'blocked statement: database_timeout');
ok(defined $r->{headers}{'retry-after'}, 'timeout: Retry-After');
cmp_ok(time() - $t0, '<', 10, 'answered near PARLEY_REQUEST_TIMEOUT_MS, not when the lock goes');
ok(ParleyTest::poll_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE usename = '$role' AND wait_event_type = 'Lock'") eq '0';
		},
		10),
	'the timed-out statement was cancelled in the database');

# The one connection is blocked by A; the key cache's refresh (every 500 ms)
# then waits at the head of the queue, outside its bound of one; B waits in
# the queue, C finds it full.  A gateway whose requests do not time out:
# with 800 ms, a loaded machine let A or the refresh time out before B was
# queued, and the queue was never full.
$gw->stop('parleyd (timeout)');
$gw = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_POOL_SIZE => 1, PARLEY_QUEUE_SIZE => 1, PARLEY_REQUEST_TIMEOUT_MS => 300000 });
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/readyz')->{status} == 200 }, 60), 'ready again');
my $a = $gw->send_async('PUT', '/v1/guests/alice', '{"display_name": "A"}');
ok(ParleyTest::poll_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE usename = '$role' AND wait_event_type = 'Lock'") eq '1';
		},
		10),
	'A is blocked on the lock');
ok(ParleyTest::poll_until(sub { $gw->metric('parley_pool_waiting') == 1 }, 60), 'the key refresh waits');
my $b = $gw->send_async('GET', '/v1/guests/alice');
ok(ParleyTest::poll_until(sub { $gw->metric('parley_pool_waiting') == 2 }, 60),
	'B waits too: the refresh takes no place of the queue');
$r = $gw->req(GET => '/v1/guests/alice');
is($r->{status}, 503, 'queue full: 503');
is($r->{json}{code}, 'database_unavailable', 'queue full: database_unavailable');
ok(defined $r->{headers}{'retry-after'}, 'queue full: Retry-After');

$bg->query_safe('COMMIT');
like(ParleyTest::read_response($a), qr{^HTTP/1\.1 200}, 'A completes once the lock is gone');
like(ParleyTest::read_response($b), qr{^HTTP/1\.1 200}, 'B completes after A');
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'A', 'read-back: A, not the timed-out "Late"');

# SIGTERM with a request in flight: it finishes, new connections are refused, exit 0.
$bg->query_safe('BEGIN');
$bg->query_safe("SELECT 1 FROM parley.guests WHERE guest_id = 'alice' FOR UPDATE");
my $inflight = $gw->send_async('PUT', '/v1/guests/alice', '{"display_name": "Drained"}');
ok(ParleyTest::poll_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE usename = '$role' AND wait_event_type = 'Lock'") eq '1';
		},
		10),
	'a request is in flight');
$gw->signal('TERM');
ok(ParleyTest::poll_until(sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) }, 5),
	'SIGTERM: the listener is closed');
ok($gw->alive, 'SIGTERM: still draining');
$bg->query_safe('COMMIT');
my $resp = ParleyTest::read_response($inflight);
like($resp, qr{^HTTP/1\.1 200}, 'the in-flight request finished');
like($resp, qr{^Connection: close}mi, 'with Connection: close');
is($gw->wait_exit(20), 0, 'and parleyd exited 0');
$gw->check_log('parleyd (drain)');
$bg->quit;

$node->stop;
done_testing();

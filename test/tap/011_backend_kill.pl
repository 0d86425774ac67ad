# The gateway's backends are killed (pg_terminate_backend) while clients
# post through it.  A request caught by a kill either fails cleanly (503
# database_unavailable, Retry-After) or is retried by parleyd on another
# connection, which it does only when the server said the statement did
# not run to the end (its FATAL error came before any result): never a
# duplicate, never a wrong answer.  Reads (message lists) during the kills
# answer the truth or 503.
use strict;
use warnings;

use LoadClients;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $kills = $ENV{PARLEY_KILL_ROUNDS} // 15;
my $wait_s = 60;    # deadline of each poll_until: generous for a busy machine
my $node = ParleyTest::new_node('kill');
my $key  = ParleyTest::create_key($node, 'kill');
my $gw   = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_POOL_SIZE => 4, PARLEY_LOG_LEVEL => 'warn' });

my @guests = qw(ann ben cat dan);
is($gw->req(PUT => "/v1/guests/$_", { display_name => $_ })->{status}, 201, "guest $_") for @guests;
my $r = $gw->req(POST => '/v1/conversations?as=ann', { kind => 'group', participants => [qw(ben cat dan)] });
is($r->{status}, 201, 'conversation');
my $cid = $r->{json}{id};
# A fixed conversation for reads: 30 messages that never change.
$r = $gw->req(POST => '/v1/conversations?as=ann', { kind => 'group', participants => ['ben'] });
my $rcid = $r->{json}{id};
$gw->req(POST => "/v1/conversations/$rcid/messages?as=ann", { body => "r$_" }) for 1 .. 30;

my $dir = "$PostgreSQL::Test::Utils::tmp_check/kill_clients";
mkdir $dir;
my $lc = LoadClients->start(gw => $gw, convs => [$cid], senders => \@guests, workers => 4, dir => $dir);

my $kill_sql = q{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = 'parleyd' AND pid <> pg_backend_pid()};
my ($killed, $reads_ok, @reads_bad) = (0, 0);
for my $k (1 .. $kills)
{
	my $n0 = $node->safe_psql('postgres', 'SELECT count(*) FROM parley.messages');
	# let the clients get going on fresh connections, then kill them all
	ParleyTest::poll_until(sub { $node->safe_psql('postgres', 'SELECT count(*) FROM parley.messages') > $n0 + 30 }, $wait_s);
	# odd rounds kill every connection, even rounds one (the others
	# carry on, and take over what the killed one had not run)
	$killed += $node->safe_psql('postgres', $k % 2 ? $kill_sql : "$kill_sql AND pid = (SELECT pid FROM pg_stat_activity WHERE application_name = 'parleyd' AND state = 'active' LIMIT 1)");
	# reads while the pool reconnects: the truth or a clean 503
	for (1 .. 5)
	{
		my $g = $gw->req(GET => "/v1/conversations/$rcid/messages?as=ben&limit=200");
		if ($g->{status} == 200)
		{
			my @seqs = map { $_->{seq} } @{ $g->{json}{messages} };
			if ("@seqs" eq join(' ', 1 .. 30)) { $reads_ok++ } else { push @reads_bad, "seqs @seqs" }
		}
		elsif ($g->{status} != 503) { push @reads_bad, "status $g->{status}" }
	}
}
cmp_ok($killed, '>=', $kills / 2, "$killed backends killed in $kills rounds");
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/readyz', undef, key => undef)->{status} == 200 }, $wait_s),
	'ready again after the kills');
$lc->stop;
my $settled = $lc->settle;
# The request timeout (5 s) plus slack for a loaded machine: a hang is far beyond.
my $res = $lc->check_database($node, timeout => 5 + 5);
is_deeply(\@reads_bad, [], "reads during the kills: $reads_ok right answers, the rest 503");

my $metrics = $gw->req(GET => '/metrics', undef, key => undef)->{body} // '';
my ($lost) = $metrics =~ /^parley_pool_connections_lost_total (\d+)/m;
my ($retried) = $metrics =~ /^parley_pool_retries_total (\d+)/m;
cmp_ok($retried // 0, '>', 0, 'some statements the kills stopped before their end were run again');
diag(sprintf('%d backends killed; %d acknowledged posts checked, %d failed attempts (503), %d settled; '
	. 'connections lost %s, statements retried by parleyd %s',
	$killed, $res->{acked}, $res->{failed}, $settled, $lost // '?', $retried // '?'));
ok($gw->alive, 'parleyd is still running');
$gw->stop;
done_testing();

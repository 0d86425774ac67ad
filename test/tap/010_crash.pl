# The database crashes under load: clients post continuously through
# parleyd (with client_msg_id and retrying after a failure, and without)
# while PostgreSQL is stopped in immediate mode and restarted, several
# times.  Afterwards every acknowledged message is stored exactly once with
# the seq it was answered with, retries never duplicate, seqs are gapless;
# parleyd answers 503 while the database is down, never hangs past its
# request timeout, and serves again soon after the database comes back
# (its reconnect backoff is at most ~1.25 s; the times are printed).
#
# On a busy machine: waits are for conditions with generous deadlines, and
# the bounds on times are far above what a working gateway needs (a hang
# or a reconnect that waits for the connect deadline is well beyond them);
# how fast it recovers is a figure for the diag line, not an assertion.
#
# PARLEY_CRASH_CYCLES (default 4; make soak runs 20).
use strict;
use warnings;

use LoadClients;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $cycles  = $ENV{PARLEY_CRASH_CYCLES} // 4;
my $timeout_ms = 2000;
my $wait_s  = 60;     # deadline of each poll_until
my $slack_s = 5;      # beyond the request timeout, for a loaded machine
my $node = ParleyTest::new_node('crash');
my $key  = ParleyTest::create_key($node, 'crash');
my $gw   = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_REQUEST_TIMEOUT_MS => $timeout_ms, PARLEY_LOG_LEVEL => 'warn' });

my @guests = qw(ann ben cat dan);
is($gw->req(PUT => "/v1/guests/$_", { display_name => $_ })->{status}, 201, "guest $_") for @guests, 'probe';
my @convs;
for my $i (1 .. 2)
{
	my $r = $gw->req(POST => '/v1/conversations?as=ann',
		{ kind => 'group', participants => [ qw(ben cat dan probe) ], title => "crash $i" });
	is($r->{status}, 201, "conversation $i");
	push @convs, $r->{json}{id};
}

my $dir = "$PostgreSQL::Test::Utils::tmp_check/crash_clients";
mkdir $dir;
my $lc = LoadClients->start(gw => $gw, convs => \@convs, senders => \@guests, workers => 4, dir => $dir);

my $probe_n = 0;
sub probe
{
	$probe_n++;
	return $gw->req(POST => "/v1/conversations/$convs[0]/messages?as=probe",
		{ body => "probe-$probe_n", client_msg_id => "probe-$probe_n" });
}

# Some load before the first crash.
ok(ParleyTest::poll_until(sub { probe()->{status} == 201 }, $wait_s), 'serving before the crashes');

my (@recover, @down_answers);
for my $c (1 .. $cycles)
{
	$node->stop('immediate');
	my $t0 = time();
	my $r;
	ok(ParleyTest::poll_until(sub { $r = probe(); $r->{status} == 503 }, $wait_s), "crash $c: 503 while the database is down");
	push @down_answers, time() - $t0;
	is($r->{json}{code}, 'database_unavailable', "crash $c: database_unavailable");
	like($r->{headers}{'retry-after'} // '', qr/^\d+$/, "crash $c: Retry-After");
	is($gw->req(GET => '/readyz', undef, key => undef)->{status}, 503, "crash $c: /readyz 503");
	# Keep it down a moment while the clients hammer it.
	my $until = time() + 1;
	my $t = time();
	$r = probe() while time() < $until;
	cmp_ok(time() - $t, '<', 1 + $timeout_ms / 1000 + $slack_s, "crash $c: answers stay prompt while down");

	$node->start;
	my $up = time();
	ok(ParleyTest::poll_until(sub { probe()->{status} =~ /^20[01]$/ }, $wait_s), "crash $c: serving again");
	my $took = time() - $up;
	push @recover, $took;
	cmp_ok($took, '<', 10, sprintf('crash %d: serving %.2f s after the database is back', $c, $took));
	# Load between crashes, so the next crash hits requests in flight.
	my $n0 = $node->safe_psql('postgres', 'SELECT count(*) FROM parley.messages');
	ok(ParleyTest::poll_until(sub { $node->safe_psql('postgres', 'SELECT count(*) FROM parley.messages') > $n0 + 200 }, $wait_s),
		"crash $c: the clients post again");
}

$lc->stop;
my $settled = $lc->settle;
my $res = $lc->check_database($node, timeout => $timeout_ms / 1000 + $slack_s);
ok($gw->alive, 'parleyd is still running');
my ($worst) = sort { $b <=> $a } @recover;
diag(sprintf('%d crashes survived; %d attempts, %d acknowledged posts + %d probe attempts, %d failed attempts (503), '
	. '%d settled afterwards, %d messages stored; back in %s s (worst %.2f s)',
	$cycles, $res->{acked} + $res->{failed}, $res->{acked}, $probe_n, $res->{failed}, $settled, $res->{stored},
	join(' ', map { sprintf('%.2f', $_) } @recover), $worst));
$gw->stop;
done_testing();

# Soak (make soak only; skipped unless PARLEY_SOAK_SECONDS is set): posting
# clients run flat out for a few seconds to measure the maximum rate, then
# at half of it for PARLEY_SOAK_SECONDS.  parleyd's resident size may grow
# by less than 2 MB after the warm-up, its descriptors not at all, and no
# request may fail.  The figures are printed.
use strict;
use warnings;

use LoadClients;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $seconds = $ENV{PARLEY_SOAK_SECONDS}
  or plan skip_all => 'the soak runs under make soak (PARLEY_SOAK_SECONDS)';
my $workers = $ENV{PARLEY_SOAK_WORKERS} // 8;
my $warmup  = $seconds >= 300 ? 60 : int($seconds / 5);

my $node = ParleyTest::new_node('soak');
my $key  = ParleyTest::create_key($node, 'soak');
my $gw   = ParleyTest->start(node => $node, key => $key, env => { PARLEY_LOG_LEVEL => 'warn' });
my @guests = map { "g$_" } 1 .. 8;
$gw->req(PUT => "/v1/guests/$_", { display_name => $_ }) for @guests;
my @convs = map {
	$gw->req(POST => '/v1/conversations?as=g1', { kind => 'group', participants => [@guests[1 .. 7]] })->{json}{id}
} 1 .. 4;

sub rss_kb { open(my $f, '<', "/proc/$gw->{pid}/status") or return 0; while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ } return 0 }
sub fds { my @f = glob("/proc/$gw->{pid}/fd/*"); return scalar @f }

# 1. The maximum rate (with these clients: a Perl client process per
#    worker, so it may be the clients' maximum rather than parleyd's).
my $dir = "$PostgreSQL::Test::Utils::tmp_check/soak_max";
mkdir $dir;
my $t0 = time();
my $lc = LoadClients->start(gw => $gw, convs => \@convs, senders => \@guests, workers => $workers, dir => $dir,
	tag => 'max-');
ParleyTest::poll_until(sub { 0 }, 10);    # ten seconds of load (a measuring window, not a wait for a condition)
$lc->stop;
my $max = (grep { $_->{status} =~ /^2/ } $lc->rows) / (time() - $t0);
my $rate = $max / 2;
diag(sprintf('maximum: %.0f posts/s with %d client processes; soak at %.0f posts/s for %d s', $max, $workers, $rate, $seconds));

# 2. Half of it, paced, for the soak.
$dir = "$PostgreSQL::Test::Utils::tmp_check/soak_run";
mkdir $dir;
$lc = LoadClients->start(gw => $gw, convs => \@convs, senders => \@guests, workers => $workers, dir => $dir,
	rate => $rate / $workers, tag => 'soak-');
my $start = time();
my (@samples, $base_rss, $base_fds);
while (time() - $start < $seconds)
{
	ParleyTest::poll_until(sub { 0 }, 10);    # sample every 10 s
	my $s = { t => time() - $start, rss => rss_kb(), fds => fds() };
	push @samples, $s;
	if (!defined $base_rss && $s->{t} >= $warmup) { ($base_rss, $base_fds) = ($s->{rss}, $s->{fds}); }
}
$lc->stop;
my $elapsed = time() - $start;
my @rows = $lc->rows;
my @acked = grep { $_->{status} =~ /^2/ } @rows;
my $end = $samples[-1];
$base_rss //= $samples[0]{rss};
$base_fds //= $samples[0]{fds};
my ($max_rss) = sort { $b <=> $a } map { $_->{rss} } @samples;
diag(sprintf('%d posts in %.0f s (%.0f/s); RSS %d kB at start, %d kB after the %d s warm-up, %d kB at the end, '
	. 'peak %d kB: growth %+d kB; descriptors %d -> %d',
	scalar @acked, $elapsed, @acked / $elapsed, $samples[0]{rss}, $base_rss, $warmup, $end->{rss}, $max_rss,
	$end->{rss} - $base_rss, $base_fds, $end->{fds}));
diag('RSS samples (s:kB): ' . join(' ', map { sprintf('%d:%d', $_->{t}, $_->{rss}) } @samples));

ok($gw->alive, 'parleyd ran throughout');
is(scalar(@rows) - scalar(@acked), 0, 'no error responses');
cmp_ok($end->{rss} - $base_rss, '<', 2048, 'RSS growth after the warm-up < 2 MB');
cmp_ok($end->{fds}, '<=', $base_fds, 'no descriptor growth');
cmp_ok(@acked / $elapsed, '>=', $rate * 0.8, 'the paced rate was held (within 20 %)');
$lc->check_database($node);
$gw->stop;
done_testing();

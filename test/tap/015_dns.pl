# The database host name is looked up without blocking the event loop
# (gateway/db/resolve.c): parleyd connects to a host that only a DNS server of
# this test knows (PARLEY_RESOLV_CONF), and when every database connection
# is lost while that server answers only after some seconds, requests
# that need no database are answered at once and the pool is back before
# the lookup answers (the address found before is used; the new lookup runs
# beside).  A gateway starting while DNS is slow answers /healthz at once
# and becomes ready when the lookup answers; of a name's several addresses,
# one that does not answer is passed over.
#
# On a busy machine: "at once" is checked against the DNS delay (a loop
# blocked on the lookup would take all of it), with half of it as slack,
# not against a short absolute time.  The delay stays well under the
# resolver's timeout (10 s).
use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use ParleyTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $slow_s = 4;    # how long the DNS server takes to answer when slow

my $node = ParleyTest::new_node('dns');
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
$node->restart;
my $key = ParleyTest::create_key($node, 'dns-test');

# A DNS server for db.parley.test (A 127.0.0.1) and two.parley.test (A
# 127.0.0.2, where nothing listens, then 127.0.0.1), NXDOMAIN for other
# names, that waits as many seconds as the file $delay_file says before
# each answer.  Each query is answered by a child of its own, so that a
# slow answer does not hold up the queries behind it (a lookup asks for A
# and AAAA at once; one query queued behind another would wait twice).
my $tmp        = PostgreSQL::Test::Utils::tempdir();
my $delay_file = "$tmp/delay";
my $queries    = "$tmp/queries";
sub set_delay { open my $f, '>', $delay_file or die; print $f "$_[0]\n"; close $f; }
set_delay(0);
my $dns = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
  or die "dns socket: $!";
my $dns_port = $dns->sockport;
my $dns_pid  = fork() // die "fork: $!";
if ($dns_pid == 0)
{
	$SIG{CHLD} = 'IGNORE';    # no zombies
	while (1)
	{
		my $from = $dns->recv(my $q, 512);
		next unless defined $from && length($q) > 12;
		my $child = fork() // die "fork: $!";
		next if $child;
		my ($id) = unpack('n', $q);
		my $off = 12;
		my @labels;
		while ((my $len = ord substr($q, $off, 1)) > 0)
		{
			push @labels, substr($q, $off + 1, $len);
			$off += $len + 1;
		}
		my ($qtype) = unpack('n', substr($q, $off + 1, 2));
		my $question = substr($q, 12, $off + 5 - 12);
		my %a = ('db.parley.test' => [1], 'two.parley.test' => [ 2, 1 ]);
		my $ips  = $a{ lc(join('.', @labels)) };
		my $ours = defined $ips;
		open my $log, '>>', $queries or die;
		print $log time() . " $qtype\n";
		close $log;
		open my $f, '<', $delay_file or die;
		my $delay = <$f> + 0;
		close $f;
		select(undef, undef, undef, $delay) if $delay;
		my @rr = $ours && $qtype == 1 ? map { pack('n n n N n C4', 0xC00C, 1, 1, 60, 4, 127, 0, 0, $_) } @$ips : ();
		$dns->send(pack('n6', $id, 0x8180 | ($ours ? 0 : 3), 1, scalar @rr, 0, 0) . $question . join('', @rr),
			0, $from);
		POSIX::_exit(0);
	}
}
$dns->close;
END { kill 'KILL', $dns_pid if $dns_pid; }

open my $rc, '>', "$tmp/resolv.conf" or die;
print $rc "nameserver 127.0.0.1:$dns_port\noptions timeout:10 attempts:1\n";
close $rc;

my %env = (
	DATABASE_URL => 'host=db.parley.test port=' . $node->port . ' dbname=postgres user=parley_gateway',
	PARLEY_RESOLV_CONF => "$tmp/resolv.conf", PARLEY_EVENTS => 0);
my $gw = ParleyTest->start(node => $node, key => $key, env => { %env, PARLEY_LOG_LEVEL => 'info' });
is($gw->req(GET => '/readyz')->{status}, 200, 'ready through a name only our DNS server knows');
like($gw->log_text, qr/database host db\.parley\.test is 127\.0\.0\.1/, 'the address found is logged');
is($gw->req(PUT => '/v1/guests/dns1', { display_name => 'D' })->{status}, 201, 'a write goes through');

# A name with two addresses whose first is dead: the next one is tried.
my $two = ParleyTest->start(node => $node, key => $key, name => 'two_addresses',
	env => { %env, DATABASE_URL => 'host=two.parley.test port=' . $node->port . ' dbname=postgres user=parley_gateway' });
is($two->req(GET => '/readyz')->{status}, 200, 'a name whose first address is dead: ready through the next');
like($two->log_text, qr/database host two\.parley\.test is 127\.0\.0\.2 \(and more, tried in turn\)/,
	'... both addresses were found');
$two->stop;

# Every database connection lost while DNS takes $slow_s s to answer.
set_delay($slow_s);
unlink $queries;
my $t0 = time;
$node->safe_psql('postgres',
	q{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'parley_gateway'});
my ($worst, $ok_at, $bad) = (0, undef, 0);
while (time - $t0 < $slow_s - 0.5 && !(defined $ok_at && time - $t0 > 1))
{
	my $t = time;
	$bad++ if $gw->req(GET => '/healthz')->{status} != 200;
	$worst = time - $t if time - $t > $worst;
	$ok_at //= time - $t0 if $gw->req(GET => '/v1/guests/dns1')->{status} == 200;
}
is($bad, 0, '/healthz answered 200 throughout');
cmp_ok($worst, '<', $slow_s / 2, sprintf('the event loop never stalled (slowest /healthz %.0f ms)', $worst * 1000));
ok(defined $ok_at && $ok_at < $slow_s - 0.5,
	sprintf('the pool was back %.2f s after the loss, before the %d s lookup answered', $ok_at // -1, $slow_s));
ok(-s $queries, 'a new lookup was asked for meanwhile');

# A gateway that starts while DNS is slow serves /healthz at once and is
# ready when the lookup answers.
set_delay($slow_s);
$t0 = time;
my $slow = ParleyTest->start(node => $node, key => $key, wait => 'none', name => 'slow_dns', env => \%env);
$slow->wait_for('/healthz', 30);
my $healthy_after = time - $t0;
cmp_ok($healthy_after, '<', $slow_s / 2, 'starting while DNS is slow: /healthz answers at once');
# Not ready before the lookup answers (unless the start itself took that long).
is($slow->req(GET => '/readyz')->{status}, 503, '... /readyz says not yet') if time - $t0 < $slow_s - 0.5;
$slow->wait_for('/readyz', 60);
cmp_ok(time - $t0, '>=', $slow_s - 0.1, '... and it is ready once the lookup has answered');
$slow->stop;
set_delay(0);

$gw->stop;
$gw->check_log;
done_testing();

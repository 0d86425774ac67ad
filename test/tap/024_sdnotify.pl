
# Readiness for systemd's Type=notify (gateway/sdnotify.c): READY=1 on
# $NOTIFY_SOCKET only once /readyz answers 200 (not while the database is
# down), STOPPING=1 when SIGTERM starts the drain; a path socket and an
# abstract ("@name") one.  Without $NOTIFY_SOCKET nothing is sent (every
# other suite).
use strict;
use warnings;

use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time);

use ParleyTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = ParleyTest::new_node('sdnotify');
my $key  = ParleyTest::create_key($node, 'sdnotify');

# Datagrams received on $sock within $timeout seconds, until one is $want
# (or, with $want undef, whatever is queued now).
sub received
{
	my ($sock, $want, $timeout) = @_;
	my @got;
	my $deadline = time() + ($timeout // 0);
	my $rin = '';
	vec($rin, fileno($sock), 1) = 1;
	do
	{
		my $rout;
		if (select($rout = $rin, undef, undef, defined $want ? 0.5 : 0) > 0)
		{
			my $msg;
			$sock->recv($msg, 4096);
			push @got, split /\n/, $msg // '';
			return @got if defined $want && grep { $_ eq $want } @got;
		}
	} while (defined $want && time() < $deadline);
	return @got;
}

# --- a path socket; the database down at first -----------------------------------
my $path = "$PostgreSQL::Test::Utils::tmp_check/notify.sock";
my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "socket: $!";
$node->stop;
my $gw = ParleyTest->start(node => $node, key => $key, wait => 'healthz',
	env => { NOTIFY_SOCKET => $path, PARLEY_CONNECT_TIMEOUT => 600 });
is($gw->req(GET => '/readyz')->{status}, 503, 'database down: /readyz 503');
is_deeply([ received($sock) ], [], '... and no READY=1');
$node->start;
ok((grep { $_ eq 'READY=1' } received($sock, 'READY=1', 120)), 'READY=1 once the database is up')
  or diag($gw->log_text);
is($gw->req(GET => '/readyz')->{status}, 200, '/readyz 200 after READY=1');
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'serving');
$gw->signal('TERM');
ok((grep { $_ eq 'STOPPING=1' } received($sock, 'STOPPING=1', 60)), 'STOPPING=1 on SIGTERM');
is($gw->wait_exit(60), 0, 'exit 0');
is_deeply([ received($sock) ], [], 'READY=1 was sent once');

# --- an abstract socket ------------------------------------------------------------
my $name = "parley-sdnotify-$$";
my $abstract = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => "\0$name") or die "socket: $!";
$gw = ParleyTest->start(node => $node, key => $key, wait => 'none', env => { NOTIFY_SOCKET => "\@$name" });
ok((grep { $_ eq 'READY=1' } received($abstract, 'READY=1', 120)), 'READY=1 on an abstract socket')
  or diag($gw->log_text);
$gw->stop;

done_testing();

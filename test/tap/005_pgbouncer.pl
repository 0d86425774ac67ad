
# parleyd through a real PgBouncer in transaction mode, with unnamed
# statements (PARLEY_PREPARED=0): server connections are shared between
# parleyd's connections, so nothing may depend on session state.
use strict;
use warnings;

use IO::Socket::INET;
use IPC::Run;
use ParleyTest;
use Test::More;

my $pgbouncer = (grep { -x } '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer')[0];
plan skip_all => 'pgbouncer is not installed' unless $pgbouncer;

my $node = ParleyTest::new_node('bouncer');
my $key  = ParleyTest::create_key($node, 'bouncer-test');

my $dir      = PostgreSQL::Test::Utils::tempdir();
my $bport    = PostgreSQL::Test::Cluster::get_free_port();
my $userlist = "$dir/userlist.txt";
open(my $u, '>', $userlist) or die;
print $u qq{"parley_gateway" ""\n};
close($u);
open(my $ini, '>', "$dir/pgbouncer.ini") or die;
printf $ini <<'INI', $node->host, $node->port, $bport, $dir, $userlist, $dir, $dir;
[databases]
postgres = host=%s port=%d dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir = %s
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = %s/pgbouncer.log
pidfile = %s/pgbouncer.pid
INI
close($ini);

my ($bout, $berr) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', \$bout, '2>', \$berr);
ok(ParleyTest::poll_until(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $bport) }, 10),
	'pgbouncer listens');

my $url = "host=127.0.0.1 port=$bport dbname=postgres user=parley_gateway";
my $gw = ParleyTest->start(key => $key, env => { DATABASE_URL => $url, PARLEY_PREPARED => 0, PARLEY_POOL_SIZE => 6 });
like($gw->log_text, qr/unnamed statements/, 'parleyd uses unnamed statements');

is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'PUT via pgbouncer: 201');
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 200, 'PUT again: 200 (last_status in the same statement)');
is($gw->req(PUT => '/v1/guests/bob', { display_name => 'Bob' })->{status}, 201, 'PUT bob: 201');
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'Alice', 'GET via pgbouncer');
is($gw->req(GET => '/v1/guests/nobody')->{json}{code}, 'guest_not_found', 'errors via pgbouncer');
is($gw->req(PUT => '/v1/guests/alice', '{"display_name": "A", "metadata": null}')->{status}, 400, '400 via pgbouncer');

# Many requests at once over 6 parleyd connections and 2 server connections.
my @socks;
for my $i (1 .. 60)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die;
	my $body = qq({"display_name": "G$i"});
	print $s "PUT /v1/guests/g$i HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer $key\r\n"
	  . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
	push @socks, $s;
}
my $created = 0;
for my $s (@socks)
{
	local $/;
	my $resp = <$s> // '';
	$created++ if $resp =~ m{^HTTP/1\.1 201};
}
is($created, 60, '60 concurrent upserts through pgbouncer: all 201');
is($node->safe_psql('postgres', "SELECT count(*) FROM parley.guests WHERE guest_id LIKE 'g%'"), '60', 'all stored');

# The conversation and message routes through pgbouncer.  They have been
# in the extension since 0.1.0: a 0A000 (not implemented) is a failure.
my $r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'direct', participants => ['bob'] });
isnt($r->{json}{sqlstate} // '', '0A000', 'conversations are implemented by the extension');
is($r->{status}, 201, 'conversation via pgbouncer: 201') or diag($r->{body});
my $cid = $r->{json}{id} // '';
is($gw->req(POST => "/v1/conversations/$cid/messages?as=alice", { body => 'hi' })->{status}, 201, 'post via pgbouncer');
is(scalar @{ $gw->req(GET => "/v1/conversations/$cid/messages?as=bob")->{json}{messages} // [] }, 1, 'list via pgbouncer');

$gw->stop('parleyd (pgbouncer)');
$bouncer->signal('TERM');
$bouncer->finish;
$node->stop;
done_testing();

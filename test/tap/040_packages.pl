
# The Debian packages as a DBA meets them (issue 20): after
# test/package-test.sh has built them and installed them with dpkg -i (as
# root; this file runs as the postgres user), the extensions are created in
# a fresh cluster from the packaged files, parleyd is started the way its
# unit starts it (ExecStart= with the variables of EnvironmentFile= and
# nothing else, as a non-root user, Type=notify's $NOTIFY_SOCKET) and the
# API answers a smoke run.  PARLEY_PACKAGES is test/package-test.sh's work
# directory: the .deb files in deb/ and a readable copy of the root-only
# /etc/parley/parleyd.env.
use strict;
use warnings;

use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time);

use ParleyTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $pkgdir = $ENV{PARLEY_PACKAGES};
plan skip_all => 'run by test/package-test.sh (as root: dpkg -i), not on its own'
  unless $pkgdir;

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	local $/;
	my $t = <$fh>;
	close($fh);
	return $t;
}

sub dpkg_version
{
	my ($pkg) = @_;
	my $v = `dpkg-query -W -f='\${Version}' $pkg 2>/dev/null`;
	return $v;
}

my $version = dpkg_version('parleyd');
like($version, qr/^\d+\.\d+\.\d+/, "parleyd is installed ($version)");
is(dpkg_version('postgresql-15-parley'), $version, 'postgresql-15-parley is installed, same version');

# --- the extension's files are the package's -----------------------------------
my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
my %owned = map { $_ => 1 } split /\n/, `dpkg -L postgresql-15-parley`;
for my $f ("$pkglibdir/parley.so", "$sharedir/extension/parley.control",
	"$sharedir/extension/parley_proxy.control", '/usr/share/parley/gateway-role.sql')
{
	ok($owned{$f} && -f $f, "$f is installed by postgresql-15-parley");
}
my @migrations = grep { m{/extension/parley(_proxy)?--[^/]+\.sql$} } keys %owned;
my @ours = map { "$sharedir/extension/" . (m{([^/]+)$})[0] }
  (glob("$ENV{PARLEY_SRC}/migrations/parley--*.sql"), glob("$ENV{PARLEY_SRC}/proxy/parley_proxy--*.sql"));
is_deeply([ sort @migrations ], [ sort @ours ], 'every migration of the tree is in the package');
like(slurp("$sharedir/extension/parley.control"), qr/^default_version = '\Q$version\E'$/m,
	'the packaged control file is at the package version');

# --- a fresh cluster, the extensions created from those files -------------------
my $node = ParleyTest::new_node('packages', bare => 1);
$node->safe_psql('postgres', 'CREATE EXTENSION parley');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'parley'"),
	$version, 'CREATE EXTENSION parley installs the package version');
$node->safe_psql('postgres', 'CREATE ROLE parley_gateway LOGIN');
my ($out, $err) = ('', '');
ok(IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'role=parley_gateway',
	'-d', $node->connstr('postgres'), '-f', '/usr/share/parley/gateway-role.sql' ], '>', \$out, '2>', \$err),
	'the packaged gateway-role.sql grants the gateway role') or diag($err);
$node->safe_psql('postgres', 'CREATE DATABASE proxy');
$node->safe_psql('proxy', 'CREATE EXTENSION plproxy; CREATE EXTENSION parley_proxy');
is($node->safe_psql('proxy', "SELECT extversion FROM pg_extension WHERE extname = 'parley_proxy'"),
	$version, 'CREATE EXTENSION parley_proxy from the package');
my $key = ParleyTest::create_key($node, 'packages');

# --- the unit: ExecStart= with EnvironmentFile= ------------------------------
my $unit_path = '/lib/systemd/system/parleyd.service';
ok((grep { $_ eq $unit_path } split /\n/, `dpkg -L parleyd`), "parleyd installs $unit_path");
my %unit;
for (split /\n/, slurp($unit_path))
{
	my ($k, $v) = /^(\w+)=(.*)$/ or next;
	push @{ $unit{$k} }, $v;
}
my %want = (
	Type                    => 'notify',
	EnvironmentFile         => '/etc/parley/parleyd.env',
	DynamicUser             => 'yes',
	ProtectSystem           => 'strict',
	ProtectHome             => 'yes',
	PrivateTmp              => 'yes',
	NoNewPrivileges         => 'yes',
	CapabilityBoundingSet   => '',
	RestrictAddressFamilies => 'AF_UNIX AF_INET AF_INET6');
is_deeply($unit{$_}, [ $want{$_} ], "$_=$want{$_}") for sort keys %want;
is($unit{SystemCallFilter}[0], '@system-service', 'SystemCallFilter=@system-service');
my @exec = split ' ', $unit{ExecStart}[0];
is_deeply(\@exec, ['/usr/bin/parleyd'], 'ExecStart=/usr/bin/parleyd');

# The env file as systemd reads it: NAME=value lines, # comments.  As
# packaged, every setting of parleyd --help is there, commented out.
my $envfile = slurp("$pkgdir/parleyd.env");
my @settings = (`$exec[0] --help` =~ /^  ([A-Z][A-Z0-9_]+) +default: /mg);
cmp_ok(scalar @settings, '>', 20, 'parleyd --help lists the settings');
ok($envfile =~ /^#\Q$_\E=/m, "parleyd.env names $_") for @settings;
my @active = grep { !/^\s*(#|$)/ } split /\n/, $envfile;
is_deeply(\@active, [], 'parleyd.env as packaged sets nothing (defaults)');

# What this test sets, appended as a DBA would: the database and a port.
my $port = PostgreSQL::Test::Cluster::get_free_port();
$envfile .= "\nDATABASE_URL=\"" . ParleyTest::gateway_conninfo($node) . "\"\nPARLEY_LISTEN=127.0.0.1:$port\n";
my %env;
for (split /\n/, $envfile)
{
	next if /^\s*(#|;|$)/;
	my ($k, $v) = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/ or die "bad env line: $_";
	$v = $1 if $v =~ /^"(.*)"$/ || $v =~ /^'(.*)'$/;
	$env{$k} = $v;
}

# $NOTIFY_SOCKET: a datagram socket that receives what systemd would.
my $notify_path = "$PostgreSQL::Test::Utils::tmp_check/notify.sock";
unlink $notify_path;
my $notify = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $notify_path)
  or die "notify socket: $!";

sub notify_wait
{
	my ($want, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $rin = '';
	vec($rin, fileno($notify), 1) = 1;
	while (time() < $deadline)
	{
		my $rout;
		next unless select($rout = $rin, undef, undef, 0.5) > 0;
		my $msg;
		$notify->recv($msg, 4096);
		return 1 if grep { $_ eq $want } split /\n/, $msg // '';
	}
	return 0;
}

# The unit's environment: systemd's own few variables and the env file's,
# nothing of this test's.
my $log = "$PostgreSQL::Test::Utils::tmp_check/parleyd_unit.log";
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	open(STDOUT, '>>', $log) or die "open $log: $!";
	open(STDERR, '>&', \*STDOUT) or die "dup: $!";
	chdir('/');
	%ENV = (PATH => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
		LANG => 'C.UTF-8', NOTIFY_SOCKET => $notify_path, %env);
	exec(@exec) or POSIX::_exit(127);
}
# A ParleyTest gateway over this process, for its request helpers.
my $gw = bless {
	pid  => $pid,
	port => $port,
	log  => $log,
	key  => $key,
	url  => "http://127.0.0.1:$port",
	http => HTTP::Tiny->new(timeout => 15, keep_alive => 1),
}, 'ParleyTest';
isnt($<, 0, 'parleyd runs as a non-root user');

ok(notify_wait('READY=1', 90), 'READY=1 on $NOTIFY_SOCKET') or diag($gw->log_text);
is($gw->req(GET => '/readyz')->{status}, 200, '/readyz: 200 once READY=1 is sent');
like($gw->log_text, qr/parleyd \Q$version\E starting/, 'the start-up line names the package version');
is($gw->req(GET => '/openapi.json', undef, key => undef)->{json}{info}{version}, $version,
	'OpenAPI info.version is the package version');
like(`$exec[0] --version`, qr/^parleyd \Q$version\E$/, 'parleyd --version is the package version');

# --- the API smoke run ----------------------------------------------------------
for my $g (qw(alice bob))
{
	my $r = $gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g });
	is($r->{status}, 201, "PUT guest $g: 201") or diag($r->{body});
}
my $r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'direct', participants => ['bob'] });
is($r->{status}, 201, 'POST conversation: 201') or diag($r->{body});
my $cid = $r->{json}{id} // 'none';
$r = $gw->req(POST => "/v1/conversations/$cid/messages?as=alice", { body => 'hello from the package' });
is($r->{status}, 201, 'POST message: 201') or diag($r->{body});
$r = $gw->req(POST => "/v1/conversations/$cid/messages?as=bob", { body => 'hello back' });
is($r->{status}, 201, 'POST reply: 201') or diag($r->{body});
$r = $gw->req(GET => "/v1/conversations/$cid/messages?as=bob");
is($r->{status}, 200, 'GET messages: 200');
is_deeply([ map { $_->{body} } @{ $r->{json}{messages} // [] } ],
	[ 'hello from the package', 'hello back' ], 'both messages, in order');
$r = $gw->req(GET => '/v1/guests/alice/conversations');
is(scalar @{ $r->{json}{conversations} // [] }, 1, 'alice lists her conversation');

# --- stop as systemd does: SIGTERM, STOPPING=1, exit 0 ---------------------------
$gw->signal('TERM');
ok(notify_wait('STOPPING=1', 30), 'STOPPING=1 on SIGTERM');
is($gw->wait_exit(60), 0, 'parleyd exits 0');

$node->stop;
done_testing();

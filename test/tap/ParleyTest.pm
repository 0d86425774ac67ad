
# ParleyTest: the shared fixture of parleyd's TAP suites.
#
#   my $node = ParleyTest::new_node('main');          # PostgreSQL + parley + gateway role
#   my $key  = ParleyTest::create_key($node, 'svc');  # a service key
#   my $gw   = ParleyTest->start(node => $node, key => $key, env => {...});
#   my $r    = $gw->req(PUT => '/v1/guests/alice', {display_name => 'Alice'});
#   is($r->{status}, 201); is($r->{json}{guest_id}, 'alice');
#   $gw->stop;                                         # SIGTERM, exit 0, no sanitizer report
#
# Runs as the postgres user under test/run-tests.sh, with PARLEYD (the
# binary), PARLEY_SRC (the source tree) and TESTDIR set.

package ParleyTest;

use strict;
use warnings;

use Carp;
use Encode ();
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use POSIX ":sys_wait_h";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# PostgreSQL::Test::Cluster->init runs "pg_regress --config-auth"; outside a
# PostgreSQL build tree nobody sets PG_REGRESS, so find the PGXS copy.
BEGIN
{
	if (!$ENV{PG_REGRESS})
	{
		my $pg_config = $ENV{PG_CONFIG} || 'pg_config';
		my $pgxs = `$pg_config --pgxs`;
		chomp $pgxs;
		(my $regress = $pgxs) =~ s{src/makefiles/pgxs\.mk$}{src/test/regress/pg_regress};
		$ENV{PG_REGRESS} = $regress;
	}
}

# Shard count of each node made by new_node under PARLEY_TEST_SHARDS.
my %shards;

# A started PostgreSQL node with the extension, the gateway role
# parley_gateway (grants of extension/gateway-role.sql) in database postgres.
sub new_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "max_connections = 100\n");
	$node->start;
	if ($ENV{PARLEY_TEST_SHARDS} && !$opts{bare})
	{
		# The same suite against parley_proxy over N shard databases.
		require ParleyProxy;
		ParleyProxy::setup($node, 'postgres', $ENV{PARLEY_TEST_SHARDS});
		$shards{ $node->name } = $ENV{PARLEY_TEST_SHARDS};
		return $node;
	}
	setup_database($node, 'postgres') unless $opts{bare};
	return $node;
}

sub setup_database
{
	my ($node, $db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION parley');
	$node->safe_psql('postgres', q{
		DO $$BEGIN
		  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_gateway') THEN
		    CREATE ROLE parley_gateway LOGIN;
		  END IF;
		END$$});
	my $src = $ENV{PARLEY_SRC} or croak 'PARLEY_SRC is not set';
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'role=parley_gateway',
			'-d', $node->connstr($db), '-f', "$src/extension/gateway-role.sql"
		],
		'>', \$stdout, '2>', \$stderr);
	croak "gateway-role.sql failed: $stderr" unless $ok;
	return;
}

# --- the data behind the API ------------------------------------------------
# A suite calls the API's functions in database postgres either way (the
# proxy has them all), but reads tables through these helpers, so that the
# same file runs against one database and, under PARLEY_TEST_SHARDS, against
# parley_proxy, which has no tables: there the data is on the shards.

# Number of shards behind $node's database postgres (0: no proxy).
sub shard_count
{
	my ($node) = @_;
	return $shards{ $node->name } // 0;
}

# The databases that hold parley's tables.
sub data_dbs
{
	my ($node) = @_;
	my $n = shard_count($node);
	return ('postgres') unless $n;
	return ParleyProxy::shard_names($n);
}

# The role that runs the API's statements in the data databases: the
# gateway's own, or the one the proxy connects to the shards as.
sub data_role
{
	my ($node) = @_;
	return shard_count($node) ? 'parley_shard' : 'parley_gateway';
}

# A read-only query on every data database: one answer per database.
sub data_psql_all
{
	my ($node, $sql) = @_;
	return map { $node->safe_psql($_, $sql) } data_dbs($node);
}

# The sum of a number (a count) over the data databases.
sub data_sum
{
	my ($node, $sql) = @_;
	my $sum = 0;
	$sum += $_ for data_psql_all($node, $sql);
	return $sum;
}

# The answer of a query on data every shard holds in full (guests,
# friendships, blocks: written on all shards).  When the shards disagree,
# every answer labelled with its database, so that a comparison fails and
# shows them.
sub data_same
{
	my ($node, $sql) = @_;
	my @dbs = data_dbs($node);
	my @out = data_psql_all($node, $sql);
	return $out[0] unless grep { $_ ne $out[0] } @out;
	return join(' / ', map { "$dbs[$_]: $out[$_]" } 0 .. $#dbs);
}

# The database holding conversation $cid, or guest $guest's home (where
# guest-scoped reads go): the proxy's routing, from its partition map.
my %home;

sub conversation_db
{
	my ($node, $cid) = @_;
	return home_db($node, "parley_proxy.conversation_hash('$cid')");
}

sub guest_db
{
	my ($node, $guest) = @_;
	return home_db($node, "parley_proxy.guest_hash('$guest')");
}

sub home_db
{
	my ($node, $hash) = @_;
	my $n = shard_count($node);
	return 'postgres' unless $n;
	return $home{ $node->name }{$hash} //= ParleyProxy::partition_db($node, 'postgres', $n, $hash);
}

# A read-only query in the database holding conversation $cid.
sub conversation_psql
{
	my ($node, $cid, $sql) = @_;
	return $node->safe_psql(conversation_db($node, $cid), $sql);
}

sub create_key
{
	my ($node, $name, $db) = @_;
	return $node->safe_psql($db // 'postgres', "SELECT parley.service_key_create('$name')");
}

# libpq conninfo for the gateway role on $node.
sub gateway_conninfo
{
	my ($node, $db) = @_;
	return sprintf('host=%s port=%d dbname=%s user=parley_gateway',
		$node->host, $node->port, $db // 'postgres');
}

my $counter = 0;

# Start parleyd.  Options: node, key, env (hashref of extra settings),
# wait ('ready' (default), 'healthy' or 'none'), name.
sub start
{
	my ($class, %o) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $name = $o{name} // ('parleyd' . ++$counter);
	my $log  = "$PostgreSQL::Test::Utils::tmp_check/${name}_$port.log";
	my %env  = (
		PARLEY_LISTEN   => "127.0.0.1:$port",
		PARLEY_ENV_FILE => '/dev/null',
		PARLEY_LOG_LEVEL => 'info',
		ASAN_OPTIONS  => 'halt_on_error=1:abort_on_error=1:detect_leaks=1:disable_coredump=1',
		UBSAN_OPTIONS => 'halt_on_error=1:print_stacktrace=1',
		($o{node} ? (DATABASE_URL => gateway_conninfo($o{node}, $o{db})) : ()),
		%{ $o{env} // {} });

	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>>', $log) or die "open $log: $!";
		open(STDERR, '>&', \*STDOUT) or die "dup: $!";
		for my $k (keys %env)
		{
			if (defined $env{$k}) { $ENV{$k} = $env{$k}; }
			else { delete $ENV{$k}; }
		}
		# PARLEYD_WRAPPER (e.g. "valgrind --leak-check=full ...") runs in
		# the same process as parleyd, so signals and the pid still work.
		my @wrap = split ' ', ($ENV{PARLEYD_WRAPPER} // '');
		# nofile => N: at most N file descriptors (soft and hard limit).
		unshift @wrap, 'prlimit', "--nofile=$o{nofile}:$o{nofile}", '--' if $o{nofile};
		exec(@wrap, $ENV{PARLEYD}) or die "exec $ENV{PARLEYD}: $!";
	}
	my $self = bless {
		pid  => $pid,
		port => $port,
		log  => $log,
		key  => $o{key},
		url  => "http://127.0.0.1:$port",
		http => HTTP::Tiny->new(timeout => 15, keep_alive => 1),
	}, $class;
	my $wait = $o{wait} // 'ready';
	$self->wait_for($wait eq 'ready' ? '/readyz' : '/healthz') unless $wait eq 'none';
	return $self;
}

# Poll an endpoint until it answers 200 (never a blind sleep).
sub wait_for
{
	my ($self, $path, $timeout) = @_;
	my $deadline = time() + ($timeout // 30);
	my $http = HTTP::Tiny->new(timeout => 2);
	while (time() < $deadline)
	{
		my $r = $http->get($self->{url} . $path);
		return 1 if $r->{status} == 200;
		croak "parleyd exited early; log:\n" . $self->log_text
		  if waitpid($self->{pid}, WNOHANG) == $self->{pid};
		usleep(50_000);
	}
	croak "parleyd: $path not 200 within the timeout; log:\n" . $self->log_text;
}

# Poll until $cond->() is true; returns whether it became true in time.
sub poll_until
{
	my ($cond, $timeout) = @_;
	my $deadline = time() + ($timeout // 10);
	while (time() < $deadline)
	{
		return 1 if $cond->();
		usleep(25_000);
	}
	return 0;
}

sub log_text
{
	my ($self) = @_;
	open(my $fh, '<', $self->{log}) or return '';
	local $/;
	my $t = <$fh>;
	close($fh);
	return $t // '';
}

# One HTTP request.  $body: a Perl structure (sent as JSON), a string (sent
# as is) or undef.  %o: key (overrides; undef = no Authorization),
# headers, content_type.  Returns {status, headers, body, json}.
sub req
{
	my ($self, $method, $path, $body, %o) = @_;
	my %h;
	my $key = exists $o{key} ? $o{key} : $self->{key};
	$h{Authorization} = "Bearer $key" if defined $key;
	if (defined $body)
	{
		$body = $JSON->encode($body) if ref $body;
		$h{'Content-Type'} = exists $o{content_type} ? $o{content_type} : 'application/json';
		delete $h{'Content-Type'} unless defined $h{'Content-Type'};
	}
	%h = (%h, %{ $o{headers} // {} });
	my $r = $self->{http}->request($method, $self->{url} . $path,
		{ headers => \%h, (defined $body ? (content => $body) : ()) });
	my $json;
	if (defined $r->{content} && length $r->{content})
	{
		$json = eval { $JSON->decode($r->{content}) };
	}
	record_response($method, $path, $r);
	return { status => $r->{status}, headers => $r->{headers}, body => $r->{content}, json => $json };
}

# PARLEY_RECORD_RESPONSES=FILE (test/run-tap.sh sets it): every answer req()
# receives, one JSON line each, for test/openapi-check.sh, which validates
# it against the OpenAPI document's schema for its route and status.
# HTTP::Tiny's own failures (status 599: no answer at all) are not answers.
sub record_response
{
	my ($method, $path, $r) = @_;
	my $file = $ENV{PARLEY_RECORD_RESPONSES} or return;
	return if $r->{status} == 599;
	my $body = $r->{content} // '';
	my $line = $JSON->encode({
		suite => $0,
		method => $method,
		path => $path,
		status => $r->{status} + 0,
		content_type => $r->{headers}{'content-type'},
		body => Encode::decode('UTF-8', $body),
		bytes => length($body) + 0 }) . "\n";
	open(my $fh, '>>', $file) or croak "$file: $!";
	syswrite($fh, $line) == length($line) or croak "$file: short write";
	close($fh);
	return;
}

# Raw bytes over a fresh TCP connection; returns what the server sent
# before closing (or before $timeout seconds).  Unless $until_close, one
# complete response with a Content-Length is enough.
sub raw
{
	my ($self, $bytes, $timeout, $until_close) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp')
	  or croak "connect: $!";
	$s->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	print $s $bytes;
	my $out = '';
	my $deadline = time() + ($timeout // 5);
	$s->blocking(0);
	while (time() < $deadline)
	{
		my $buf;
		my $n = sysread($s, $buf, 65536);
		if (defined $n && $n == 0) { last; }
		if (defined $n) { $out .= $buf; next; }
		# keep-alive: a full response is enough
		if (!$until_close && $out =~ /\r\n\r\n/ && $out =~ /Content-Length: (\d+)/i)
		{
			my ($head, $rest) = split /\r\n\r\n/, $out, 2;
			last if length($rest // '') >= $1;
		}
		usleep(10_000);
	}
	close($s);
	return $out;
}

# One value of /metrics (an unlabelled counter or gauge); dies if absent.
sub metric
{
	my ($self, $name) = @_;
	my $m = $self->req(GET => '/metrics')->{body} // '';
	return $m =~ /^\Q$name\E (\d+)$/m ? $1 : croak "no $name in /metrics";
}

# A problem+json answer with the given status and code (one subtest).
sub problem
{
	my ($r, $status, $code, $name) = @_;
	subtest $name => sub {
		is($r->{status}, $status, 'status') or diag($r->{body});
		like($r->{headers}{'content-type'} // '', qr{^application/problem\+json}, 'problem content type');
		is($r->{json}{code}, $code, 'code');
		is($r->{json}{status}, $status, 'status in the body');
		ok(defined $r->{json}{$_}, "has $_") for qw(type title detail);
	};
	return;
}

# Send one request on a fresh connection (Connection: close) without
# waiting for the answer; returns the socket for read_response.
sub send_async
{
	my ($self, $method, $path, $body) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port})
	  or croak "connect: $!";
	$body //= '';
	print $s "$method $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer $self->{key}\r\n"
	  . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
	return $s;
}

# The whole answer to a send_async request (read until the server closes).
sub read_response
{
	my ($s) = @_;
	local $/;
	my $resp = <$s> // '';
	close($s);
	return $resp;
}

# Status code of a raw response ('' when the server closed without one).
sub raw_status
{
	my ($out) = @_;
	return $out =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : '';
}

sub alive
{
	my ($self) = @_;
	return waitpid($self->{pid}, WNOHANG) == 0;
}

sub signal
{
	my ($self, $sig) = @_;
	kill $sig, $self->{pid};
}

# Wait for the process to exit; returns its exit status (or undef).
sub wait_exit
{
	my ($self, $timeout) = @_;
	my $deadline = time() + ($timeout // 20);
	while (time() < $deadline)
	{
		my $r = waitpid($self->{pid}, WNOHANG);
		if ($r == $self->{pid})
		{
			$self->{exited} = 1;
			return $? >> 8 if ($? & 127) == 0;
			return 128 + ($? & 127);
		}
		usleep(20_000);
	}
	return undef;
}

# SIGTERM, expect exit 0 and no sanitizer report in the log.
sub stop
{
	my ($self, $name) = @_;
	$name //= 'parleyd';
	return if $self->{exited};
	$self->signal('TERM');
	my $code = $self->wait_exit(30);
	if (!defined $code)
	{
		kill 'KILL', $self->{pid};
		waitpid($self->{pid}, 0);
		$self->{exited} = 1;
	}
	is($code, 0, "$name: SIGTERM exits 0");
	$self->check_log($name);
	return $code;
}

# No sanitizer report and no crash in the log so far.
sub check_log
{
	my ($self, $name) = @_;
	my $log = $self->log_text;
	my @bad = grep { /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|Segmentation|Assertion|definitely lost: [1-9]|Invalid (?:read|write|free)|uninitialised value/ }
	  split /\n/, $log;
	ok(!@bad, ($name // 'parleyd') . ': no sanitizer report or crash in the log')
	  or diag(join("\n", @bad[0 .. ($#bad < 20 ? $#bad : 20)]));
	return;
}

sub DESTROY
{
	my ($self) = @_;
	if (!$self->{exited} && $self->{pid})
	{
		kill 'KILL', $self->{pid};
		waitpid($self->{pid}, 0);
	}
}

1;

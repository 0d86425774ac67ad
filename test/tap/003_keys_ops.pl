
# Service keys (created and revoked keys take effect within 1 s), the
# gateway role's privileges, the operational endpoints, OpenAPI against the
# route table, and the settings: --help, bad values, docs/gateway.md.
use strict;
use warnings;

use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $src  = $ENV{PARLEY_SRC};
my $node = ParleyTest::new_node('keys');
my $key  = ParleyTest::create_key($node, 'first');
my $gw   = ParleyTest->start(node => $node, key => $key);

# --- keys ------------------------------------------------------------------------
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'first key works');

# The clock starts once the key is committed (psql's own start-up is not
# the gateway's to answer for).
my $second = ParleyTest::create_key($node, 'second');
my $t0     = time();
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice', undef, key => $second)->{status} == 200 }, 5),
	'a new key is accepted');
cmp_ok(time() - $t0, '<', 1.0, 'a new key works within 1 s');

$node->safe_psql('postgres', "SELECT parley.service_key_revoke('second')");
$t0 = time();
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice', undef, key => $second)->{status} == 401 }, 5),
	'a revoked key is refused');
cmp_ok(time() - $t0, '<', 1.0, 'a revoked key is refused within 1 s');
is($gw->req(GET => '/v1/guests/alice')->{status}, 200, 'the other key still works');

unlike($gw->log_text, qr/\Q$key\E|\Q$second\E/, 'no key in the log');
like($gw->log_text, qr/key=first/, 'the log names the key, not its secret');

# --- the gateway role ----------------------------------------------------------------
# It reads no table where the tables are: against a proxy (which has none)
# on each shard, where the proxy's role may read only the activity columns
# of conversations (proxy/shard-role.sql), no whole row.
my @who = (['parley_gateway', 'count(*)']);
push @who, [ 'parley_shard', '*' ] if ParleyTest::shard_count($node);
for my $db (ParleyTest::data_dbs($node))
{
	for my $w (@who)
	{
		my ($role, $what) = @$w;
		my $name = $db eq 'postgres' ? 'gateway role' : "$role in $db";
		for my $t (qw(guests conversations participants messages service_keys))
		{
			my ($rc, $out, $err) = $node->psql($db, "SET ROLE $role; SELECT $what FROM parley.$t");
			isnt($rc, 0, "$name cannot SELECT parley.$t");
			like($err, qr/permission denied/, ($db eq 'postgres' ? '' : "$name: ") . "parley.$t: permission denied");
		}
	}
}
if (ParleyTest::shard_count($node))
{
	is($node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			   WHERE n.nspname IN ('parley', 'parley_proxy') AND c.relkind IN ('r', 'p', 'v', 'm')}),
		0, 'the proxy database holds no parley table');
}
my ($rc, $out, $err) = $node->psql('postgres', "SET ROLE parley_gateway; SELECT parley.service_key_create('x')");
like($err, qr/permission denied/, 'gateway role cannot create keys');

# --- operations ---------------------------------------------------------------------
my $r = $gw->req(GET => '/healthz', undef, key => undef);
is($r->{status}, 200, '/healthz without a key');
$r = $gw->req(GET => '/readyz', undef, key => undef);
is($r->{status}, 200, '/readyz without a key');
$r = $gw->req(GET => '/metrics', undef, key => undef);
is($r->{status}, 200, '/metrics without a key by default');
like($r->{headers}{'content-type'}, qr{^text/plain}, '/metrics is text');
for my $m (qw(parley_http_requests_total parley_http_request_duration_seconds_bucket
	parley_pool_connections parley_pool_waiting parley_db_errors_total))
{
	like($r->{body}, qr/^(# TYPE )?$m/m, "metrics has $m");
}
$gw->req(GET => '/v1/guests/nobody');
like($gw->req(GET => '/metrics')->{body}, qr/parley_db_errors_total\{code="guest_not_found"\} [1-9]/,
	'database errors are counted by code');

# OpenAPI lists exactly the routes of API.md section 2.
$r = $gw->req(GET => '/openapi.json', undef, key => undef);
is($r->{status}, 200, '/openapi.json without a key');
is($r->{json}{openapi} =~ /^3\./ ? 1 : 0, 1, 'OpenAPI 3');
my %want = (
	'/v1/guests/{guest_id}'                              => [qw(delete get put)],
	'/v1/conversations'                                  => [qw(post)],
	'/v1/conversations/{cid}'                            => [qw(get patch)],
	'/v1/guests/{guest_id}/conversations'                => [qw(get)],
	'/v1/conversations/{cid}/participants'               => [qw(post)],
	'/v1/conversations/{cid}/participants/{guest_id}'    => [qw(delete patch)],
	'/v1/conversations/{cid}/messages'                   => [qw(get post)],
	'/v1/conversations/{cid}/messages/{seq}'             => [qw(delete patch)],
	'/v1/conversations/{cid}/read'                       => [qw(post)],
	'/v1/conversations/{cid}/unread'                     => [qw(post)],
	'/v1/conversations/{cid}/messages/{seq}/reactions'   => [qw(get)],
	'/v1/conversations/{cid}/messages/{seq}/reactions/{key}' => [qw(delete put)],
	'/v1/conversations/{cid}/events'                     => [qw(get)],
	'/v1/guests/{guest_id}/events'                       => [qw(get)],
	'/v1/guests/{guest_id}/friends'                      => [qw(get)],
	'/v1/guests/{guest_id}/friends/{other_id}'           => [qw(delete put)],
	'/v1/guests/{guest_id}/blocks/{other_id}'            => [qw(delete put)],
	'/v1/guests/{guest_id}/tokens'                       => [qw(delete post)],
	# 0.5.0 search and per-guest settings
	'/v1/conversations/{cid}/messages/search'            => [qw(get)],
	'/v1/guests/{guest_id}/messages/search'              => [qw(get)],
	'/v1/conversations/{cid}/settings'                   => [qw(patch)],
	# 0.4.0 presence and typing
	'/v1/guests/{guest_id}/presence'                     => [qw(put)],
	'/v1/presence'                                       => [qw(get)],
	'/v1/conversations/{cid}/typing'                     => [qw(post)],
	# 0.6.0 moderation and data rights
	'/v1/conversations/{cid}/mutes/{guest_id}'           => [qw(delete put)],
	'/v1/conversations/{cid}/bans/{guest_id}'            => [qw(delete put)],
	'/v1/conversations/{cid}/messages/{seq}/reports'     => [qw(post)],
	'/v1/guests/{guest_id}/export'                       => [qw(get)],
	'/healthz'                                           => [qw(get)],
	'/readyz'                                            => [qw(get)],
	'/metrics'                                           => [qw(get)],
	'/openapi.json'                                      => [qw(get)],
);
my %got = map { $_ => [ sort keys %{ $r->{json}{paths}{$_} } ] } keys %{ $r->{json}{paths} // {} };
is_deeply(\%got, \%want, 'openapi.json paths and methods are the route table');
# Every documented operation answers something other than 404 not_found.
for my $path (sort keys %want)
{
	for my $m (@{ $want{$path} })
	{
		(my $p = $path) =~ s/\{cid\}/0190d6a4-0000-7000-8000-000000000000/;
		$p =~ s/\{seq\}/1/;
		$p =~ s/\{guest_id\}/alice/;
		$p =~ s/\{other_id\}/bob/;
		$p =~ s/\{key\}/ok/;
		$p =~ s{^/v1/guests/alice/events$}{/v1/guests/no-such-guest/events};    # a stream would stay open
		# erasing alice would change what follows: erase a guest that does not exist (404 guest_not_found)
		$p = '/v1/guests/no-such-guest' if $m eq 'delete' && $p eq '/v1/guests/alice';
		my $resp = $gw->req(uc $m, $p, ($m =~ /post|put|patch/ ? {} : undef));
		isnt($resp->{json}{code} // '', 'not_found', uc($m) . " $path is routed");
	}
}

# /metrics behind a key when asked to.
my $gw2 = ParleyTest->start(node => $node, key => $key, env => { PARLEY_METRICS_KEY_REQUIRED => 1 });
is($gw2->req(GET => '/metrics', undef, key => undef)->{status}, 401, 'PARLEY_METRICS_KEY_REQUIRED: 401 without a key');
is($gw2->req(GET => '/metrics')->{status}, 200, 'PARLEY_METRICS_KEY_REQUIRED: 200 with one');
$gw2->stop('parleyd (metrics key)');

# --- settings ----------------------------------------------------------------------
my ($help, $help_err);
IPC::Run::run([ $ENV{PARLEYD}, '--help' ], '>', \$help, '2>', \$help_err);
is($?, 0, '--help exits 0');
my @settings = $help =~ /^  ((?:PARLEY_|DATABASE_)[A-Z_]+)/mg;
cmp_ok(scalar @settings, '>=', 10, '--help lists the settings');
open(my $fh, '<', "$src/docs/gateway.md") or die "docs/gateway.md: $!";
my $doc = do { local $/; <$fh> };
close($fh);
for my $s (@settings)
{
	like($doc, qr/\|\s*`\Q$s\E`\s*\|/, "$s is in the settings table of docs/gateway.md");
}

for my $bad (
	[ PARLEY_POOL_SIZE => 'many' ],
	[ PARLEY_POOL_SIZE => '0' ],
	[ PARLEY_LOG_LEVEL => 'loud' ],
	[ PARLEY_PREPARED  => 'maybe' ],
	[ PARLEY_LISTEN    => 'nowhere' ],
	[ PARLEY_REQUEST_TIMEOUT_MS => '5s' ],
	[ PARLEY_ENV_FILE  => '/nonexistent/.env' ],
	[ DATABASE_URL     => 'host=x bogus' ])
{
	my ($o, $e);
	IPC::Run::run([ $ENV{PARLEYD} ], '>', \$o, '2>', \$e,
		init => sub { $ENV{ $bad->[0] } = $bad->[1]; $ENV{PARLEY_ENV_FILE} //= '/dev/null'; });
	is($? >> 8, 1, "$bad->[0]=$bad->[1]: exit 1");
	my @lines = grep { length } split /\n/, $e;
	ok(@lines == 1 && $lines[0] =~ /\Q$bad->[0]\E/, "$bad->[0]=$bad->[1]: one line naming the setting")
	  or diag($e);
}

# .env file: read, and the environment wins.
my $envfile = "$PostgreSQL::Test::Utils::tmp_check/test.env";
open(my $ef, '>', $envfile) or die;
print $ef "# comment\nPARLEY_POOL_SIZE=2\nexport PARLEY_LOG_LEVEL='debug'\nOTHER_TOOL=ignored\n";
close($ef);
my $gw3 = ParleyTest->start(node => $node, key => $key, env => { PARLEY_ENV_FILE => $envfile, PARLEY_LOG_LEVEL => undef });
like($gw3->log_text, qr/starting: pool 2,/, '.env sets PARLEY_POOL_SIZE');
like($gw3->log_text, qr/ debug /, '.env sets PARLEY_LOG_LEVEL');
$gw3->stop('parleyd (.env)');

$gw->stop;
$node->stop;
done_testing();

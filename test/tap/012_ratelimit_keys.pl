# Rate limiting per service key (PARLEY_RATE_LIMIT / PARLEY_RATE_BURST):
# a token bucket per key, 429 rate_limited with Retry-After, other keys
# unaffected, a refused request changes nothing, off by default.  And keys
# never reach the log, even at debug level: valid, unknown, malformed and
# revoked keys, nor their SHA-256 hashes.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use ParleyTest;
use Test::More;
use Time::HiRes qw(time);

my $node  = ParleyTest::new_node('ratelimit');
my $key   = ParleyTest::create_key($node, 'busy');
my $other = ParleyTest::create_key($node, 'calm');

# --- off by default ------------------------------------------------------------------
{
	my $gw = ParleyTest->start(node => $node, key => $key, name => 'unlimited');
	is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'set-up');
	my @st = map { $gw->req(GET => '/v1/guests/alice')->{status} } 1 .. 60;
	is_deeply([ grep { $_ != 200 } @st ], [], 'no limit by default: 60 quick requests all 200');
	$gw->stop('unlimited');
}

# --- limited: 1 request/s, bursts of 5 ------------------------------------------------
my $gw = ParleyTest->start(node => $node, key => $key, name => 'limited',
	env => { PARLEY_RATE_LIMIT => 1, PARLEY_RATE_BURST => 5 });

my $t0 = time();
my @st = map { $gw->req(GET => '/v1/guests/alice')->{status} } 1 .. 10;
my $elapsed = time() - $t0;
is_deeply([ @st[0 .. 4] ], [ (200) x 5 ], 'the first 5 (the burst) pass');
my $passed = grep { $_ == 200 } @st;
my $limited = grep { $_ == 429 } @st;
cmp_ok($limited, '>=', 1, 'beyond the burst: 429');
cmp_ok($passed, '<=', 5 + int($elapsed) + 1, "no more than burst + rate x time pass ($passed in ${elapsed}s)");
is($passed + $limited, 10, 'every answer is 200 or 429');

my $r = $gw->req(GET => '/v1/guests/alice');
is($r->{status}, 429, '429 while the bucket is empty');
is($r->{json}{code}, 'rate_limited', 'code rate_limited');
is($r->{json}{status}, 429, 'problem status 429');
like($r->{headers}{'content-type'}, qr{^application/problem\+json}, 'problem+json');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'Retry-After in whole seconds');

# Another key has its own bucket.
is($gw->req(GET => '/v1/guests/alice', undef, key => $other)->{status}, 200, 'another key is not limited');

# A refused request changes nothing: drain the bucket, then a PUT.
ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice')->{status} == 429 }, 5);
$r = $gw->req(PUT => '/v1/guests/mallory', { display_name => 'Mallory' });
is($r->{status}, 429, 'a write over the limit is refused');
is($gw->req(GET => '/v1/guests/mallory', undef, key => $other)->{status}, 404, 'and changed nothing');

# Unknown keys are refused before the limiter (401, not 429) and do not
# drain anyone's bucket.
is($gw->req(GET => '/v1/guests/alice', undef, key => 'pk_nope')->{status}, 401, 'unknown key: 401');

# The bucket refills: served again within about a second.
$t0 = time();
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice')->{status} == 200 }, 5), 'served again after a pause');
cmp_ok(time() - $t0, '<', 2.5, 'within the announced Retry-After (plus slack)');
is($gw->req(GET => '/healthz', undef, key => undef)->{status}, 200, '/healthz is never limited');
$gw->stop('limited');

# --- keys never logged, at debug level --------------------------------------------------
my $revoked = ParleyTest::create_key($node, 'soon-revoked');
$gw = ParleyTest->start(node => $node, key => $key, name => 'debuglog',
	env => { PARLEY_LOG_LEVEL => 'debug' });
my $unknown = 'pk_' . ('x' x 40);
is($gw->req(GET => '/v1/guests/alice')->{status}, 200, 'valid key');
is($gw->req(GET => '/v1/guests/alice', undef, key => $revoked)->{status}, 200, 'key about to be revoked');
is($gw->req(GET => '/v1/guests/alice', undef, key => $unknown)->{status}, 401, 'unknown key');
is($gw->req(GET => '/v1/guests/alice', undef, key => undef,
		headers => { Authorization => "Basic $key" })->{status}, 401, 'a key in the wrong scheme');
like($gw->req(GET => '/v1/guests/alice', undef, key => undef,
		headers => { Authorization => "Bearer  $key" })->{status}, qr/^(200|401)$/, 'a key after two spaces');
is($gw->req(PUT => '/v1/guests/bob', "{\"display_name\": \"$key\"", key => $key)->{status}, 400,
	'a bad body quoting the key');
$node->safe_psql('postgres', "SELECT parley.service_key_revoke('soon-revoked')");
ok(ParleyTest::poll_until(sub { $gw->req(GET => '/v1/guests/alice', undef, key => $revoked)->{status} == 401 }, 5),
	'revoked key refused');
$gw->stop('debuglog');

my $log = $gw->log_text;
like($log, qr/\bdebug\b/, 'the log is at debug level');
for my $k ([ valid => $key ], [ revoked => $revoked ], [ unknown => $unknown ], [ other => $other ])
{
	my ($what, $secret) = @$k;
	(my $body = $secret) =~ s/^pk_//;
	unlike($log, qr/\Q$body\E/, "the $what key is not in the log");
	my $hash = sha256_hex($secret);
	unlike($log, qr/\Q$hash\E/i, "nor its SHA-256");
}
like($log, qr/key=busy/, 'requests are logged with the key name');

done_testing();

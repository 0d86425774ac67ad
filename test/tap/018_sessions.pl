# Guest sessions (API.md section 7): HS256 guest tokens minted by the
# gateway or by any JWT library, the token's guest as the acting guest,
# service-key-only routes, every refusal of a bad token, revocation within
# 1 s on every gateway (also with requests in flight), ?access_token= on
# streams and their end on revocation, tokens never in the log, CORS,
# per-guest rate limits and the dev-only demo endpoint.
use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use POSIX ();
use MIME::Base64 qw(encode_base64url);
use ParleyTest;
use SSEClient;
use Test::More;
use Time::HiRes qw(time usleep);

my $SECRET = 'a-test-secret-of-more-than-32-bytes-0123456789';
my $JSONC  = JSON::PP->new->canonical;

# A token as any JWT library makes it (or a broken one, by its parts).
sub jwt
{
	my (%o) = @_;
	my $head = $o{head} // { alg => 'HS256', typ => 'JWT' };
	my $h = encode_base64url($JSONC->encode($head));
	my $c = encode_base64url($JSONC->encode($o{claims}));
	my $sig = exists $o{sig} ? $o{sig}
	  : encode_base64url(hmac_sha256("$h.$c", $o{secret} // $SECRET));
	return "$h.$c.$sig";
}

my $node = ParleyTest::new_node('sessions');
my $key  = ParleyTest::create_key($node, 'game');

# --- a short secret refuses to start ---------------------------------------------
{
	my $gw = ParleyTest->start(node => $node, key => $key, name => 'short', wait => 'none',
		env => { PARLEY_JWT_SECRET => 'too-short' });
	ok(ParleyTest::poll_until(sub { !$gw->alive }, 30), 'a secret under 32 bytes: parleyd exits');
	like($gw->log_text, qr/PARLEY_JWT_SECRET: must be at least 32 bytes/, 'and says why');
	$gw = ParleyTest->start(node => $node, key => $key, name => 'demo_nosecret', wait => 'none',
		env => { PARLEY_DEMO => 1 });
	ok(ParleyTest::poll_until(sub { !$gw->alive }, 30), 'PARLEY_DEMO=1 without a secret: parleyd exits');
	like($gw->log_text, qr/PARLEY_DEMO=1 needs PARLEY_JWT_SECRET/, 'and says why');
}

my %env = (PARLEY_JWT_SECRET => $SECRET, PARLEY_CORS_ORIGINS => 'https://game.example, https://b.example',
	PARLEY_LOG_LEVEL => 'debug');
my $gw  = ParleyTest->start(node => $node, key => $key, name => 'gw1', env => \%env);
my $gw2 = ParleyTest->start(node => $node, key => $key, name => 'gw2', env => \%env);

is($gw->req(PUT => "/v1/guests/$_", { display_name => ucfirst $_ })->{status}, 201, "guest $_")
  for qw(alice bob carol);

# --- minting ------------------------------------------------------------------------
my $r = $gw->req(POST => '/v1/guests/alice/tokens', { ttl => 600 });
is($r->{status}, 201, 'mint: 201');
my $alice = $r->{json}{token};
like($alice, qr/^[\w-]+\.[\w-]+\.[\w-]{43}$/, 'a compact JWT');
like($r->{json}{expires_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'expires_at');
is($gw->req(POST => '/v1/guests/alice/tokens', {})->{status}, 201, 'ttl defaults (3600)');
is($gw->req(POST => '/v1/guests/ghost/tokens', {})->{status}, 404, 'unknown guest: 404');
ParleyTest::problem($gw->req(DELETE => '/v1/guests/ghost/tokens'), 404, 'guest_not_found',
	'revoking for an unknown guest: 404 guest_not_found');
$r = $gw->req(POST => '/v1/guests/bob/tokens');
is($r->{status}, 201, 'minting without a body: 201 (the body is optional)');
like($r->{json}{token} // '', qr/^[\w-]+\.[\w-]+\.[\w-]{43}$/, '... with a token');
is($gw->req(POST => '/v1/guests/alice/tokens', { ttl => 59 })->{status}, 400, 'ttl under 60: 400');
is($gw->req(POST => '/v1/guests/alice/tokens', { ttl => 86401 })->{status}, 400, 'ttl over 24 h: 400');
my $bob = $gw->req(POST => '/v1/guests/bob/tokens', { ttl => 600 })->{json}{token};

# A token minted by a game server with its own library works the same.
my $now = time();
my $carol = jwt(claims => { sub => 'carol', iat => int($now), exp => int($now) + 600 });

sub as_guest { my ($tok, $m, $p, $b) = @_; return $gw->req($m, $p, $b, key => $tok); }

# --- acting as the token's guest -------------------------------------------------------
is(as_guest($alice, GET => '/v1/guests/bob')->{status}, 200, 'a guest reads another profile');
is(as_guest($alice, PUT => '/v1/guests/alice', { display_name => 'Al' })->{status}, 200, 'and writes its own');
$r = as_guest($alice, PUT => '/v1/guests/bob', { display_name => 'Bobby' });
is($r->{status}, 403, "another guest's profile: 403");
is($r->{json}{code}, 'guest_mismatch', 'guest_mismatch');
$r = as_guest($carol, POST => '/v1/conversations', { kind => 'direct', participants => ['alice'] });
is($r->{status}, 201, 'a self-minted token creates a conversation with no as');
my $cid = $r->{json}{id};
$r = as_guest($alice, POST => "/v1/conversations/$cid/messages?as=carol", { body => 'x' });
is($r->{status}, 403, 'as naming another guest: 403');
is($r->{json}{code}, 'guest_mismatch', 'guest_mismatch');
is(as_guest($alice, POST => "/v1/conversations/$cid/messages?as=alice", { body => 'hi' })->{status}, 201,
	'as naming the token guest is fine');
is(as_guest($alice, GET => "/v1/conversations/$cid/messages")->{status}, 200, 'list messages as the token guest');
is(as_guest($bob, GET => "/v1/conversations/$cid/messages")->{status}, 403, 'bob is no participant: the extension says 403');
for my $sv ([POST => '/v1/guests/alice/tokens', {}], [DELETE => '/v1/guests/alice/tokens'],
	[POST => '/v1/guests/bob/tokens'], [DELETE => '/v1/guests/ghost/tokens'])
{
	$r = as_guest($alice, @$sv);
	is($r->{status}, 403, "$sv->[0] $sv->[1] with a guest token: 403");
	is($r->{json}{code}, 'service_key_required', 'service_key_required');
}

# Friends and blocks: the acting guest is the token's (020_friends has the rest).
$r = as_guest($alice, PUT => '/v1/guests/alice/friends/bob');
is($r->{status}, 201, 'a guest sends a friend request for itself');
is($r->{json}{guest_id}, 'alice', 'from its side');
is(as_guest($bob, GET => '/v1/guests/bob/friends?status=incoming')->{json}{friends}[0]{other_id}, 'alice',
	'the other guest lists it with its own token');
$r = as_guest($alice, GET => '/v1/guests/bob/friends');
is($r->{status}, 403, "another guest's friends: 403");
is($r->{json}{code}, 'guest_mismatch', 'guest_mismatch, from the extension');
$r = as_guest($alice, PUT => '/v1/guests/bob/blocks/alice');
is($r->{json}{code}, 'guest_mismatch', 'blocking for another guest: guest_mismatch');
is(as_guest($alice, DELETE => '/v1/guests/alice/friends/bob')->{status}, 204, 'and withdraws it');

# --- every refusal --------------------------------------------------------------------
my %ok = (sub => 'alice', iat => int($now), exp => int($now) + 600);
my @bad = (
	[ 'alg none', jwt(head => { alg => 'none', typ => 'JWT' }, claims => \%ok, sig => ''), 'unauthorized' ],
	[ 'alg none, signed anyway', jwt(head => { alg => 'none' }, claims => \%ok), 'unauthorized' ],
	[ 'alg HS512', jwt(head => { alg => 'HS512' }, claims => \%ok), 'unauthorized' ],
	[ 'alg RS256', jwt(head => { alg => 'RS256' }, claims => \%ok), 'unauthorized' ],
	[ 'bad signature', jwt(claims => \%ok, secret => 'another-secret-of-more-than-32-bytes-xx'), 'unauthorized' ],
	[ 'truncated signature', substr($alice, 0, -2), 'unauthorized' ],
	[ 'expired', jwt(claims => { %ok, iat => int($now) - 700, exp => int($now) - 100 }), 'token_expired' ],
	[ 'no exp', jwt(claims => { sub => 'alice', iat => int($now) }), 'unauthorized' ],
	[ 'no iat', jwt(claims => { sub => 'alice', exp => int($now) + 60 }), 'unauthorized' ],
	[ 'iat in the future', jwt(claims => { %ok, iat => int($now) + 300, exp => int($now) + 900 }), 'unauthorized' ],
	[ 'lifetime over 24 h', jwt(claims => { %ok, exp => int($now) + 86401 }), 'unauthorized' ],
	[ 'no sub', jwt(claims => { iat => int($now), exp => int($now) + 60 }), 'unauthorized' ],
	[ 'garbage', 'a.b.c', 'unauthorized' ],
);
for my $b (@bad)
{
	my ($what, $tok, $code) = @$b;
	$r = as_guest($tok, GET => '/v1/guests/bob');
	is($r->{status}, 401, "$what: 401");
	is($r->{json}{code}, $code, "$what: $code");
	unlike($r->{body} // '', qr/\Q$tok\E/, "$what: the token is not echoed");
}
is(as_guest(jwt(claims => { %ok, iat => int($now) + 30, exp => int($now) + 600 }), GET => '/v1/guests/bob')->{status},
	200, 'an iat within 60 s of skew is fine');
# Unknown guest: the token is valid; the database answers for the guest.
my $ghost = jwt(claims => { %ok, sub => 'ghost' });
is(as_guest($ghost, GET => '/v1/guests/bob')->{status}, 200, 'unknown guest: reads a profile');
$r = as_guest($ghost, POST => '/v1/conversations', { kind => 'direct', participants => ['bob'] });
is($r->{status}, 404, 'unknown guest acting: 404 from the extension');

# --- streams with ?access_token= -------------------------------------------------------
my $s = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?access_token=$carol");
is($s->status, 200, 'a stream with ?access_token=');
my $s2 = SSEClient->open($gw2->{port}, "/v1/conversations/$cid/events?access_token=$carol&after=0");
is($s2->status, 200, 'and on the second gateway');
ok($s2->wait_until(sub { $s2->ids >= 1 }, 30), 'it replays');
my $sx = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?access_token=$carol&as=alice");
is($sx->status, 403, 'a stream with as naming another guest: 403');
my $sn = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?as=carol");
is($sn->status, 401, 'a stream with no token: 401');
# Only event routes read access_token (API.md section 7's fine points).
for my $p ('/v1/guests/bob', "/v1/conversations/$cid/messages")
{
	$r = $gw->req(GET => "$p?access_token=$carol", undef, key => undef);
	is($r->{status}, 401, "GET $p with ?access_token= and no Authorization: 401");
	unlike($r->{body} // '', qr/\Q$carol\E/, '... the token is not echoed');
}

# --- revocation: every gateway within 1 s, with requests in flight ----------------------
# Load on gw2 while revoking on gw1.
my @inflight = do { local $gw2->{key} = $carol; map { $gw2->send_async(GET => "/v1/conversations/$cid/messages") } 1 .. 20 };
my $t0 = time();
is($gw->req(DELETE => '/v1/guests/carol/tokens')->{status}, 204, 'revoke: 204');
my $t_revoked = time();
my %first;
for my $g ([gw1 => $gw], [gw2 => $gw2])
{
	my ($name, $x) = @$g;
	ok(ParleyTest::poll_until(sub { $x->req(GET => '/v1/guests/bob', undef, key => $carol)->{status} == 401 }, 30),
		"$name refuses the revoked token");
	$first{$name} = time() - $t_revoked;
}
ParleyTest::read_response($_) for @inflight;
diag(sprintf('revocation seen after %.3f s (gw1), %.3f s (gw2)', $first{gw1}, $first{gw2}));
my @after = map { ($_ % 2 ? $gw : $gw2)->req(GET => '/v1/guests/bob', undef, key => $carol)->{status} } 1 .. 20;
is_deeply([ grep { $_ != 401 } @after ], [], 'every later request with it: 401');
ok($s->wait_until(sub { $s->ended }, 30), "the revoked guest's stream ends (gw1)");
ok($s2->wait_until(sub { $s2->ended }, 30), 'and on gw2');
# The revocation refuses every token whose iat is at or before its second,
# and no later one (valid_from is that second + 1; through the proxy the
# earliest of the shards').
my ($vf) = sort { $a <=> $b } ParleyTest::data_psql_all($node,
	q{SELECT extract(epoch FROM tokens_valid_from)::bigint FROM parley.guests WHERE guest_id = 'carol'});
ok($vf >= int($t0) && $vf <= int($t_revoked) + 1, 'valid_from is the second after the revocation');
is(as_guest(jwt(claims => { sub => 'carol', iat => $vf - 1, exp => $vf + 600 }), GET => '/v1/guests/bob')->{status},
	401, "a token with iat in the revocation's second: 401");
is(as_guest(jwt(claims => { sub => 'carol', iat => $vf, exp => $vf + 600 }), GET => '/v1/guests/bob')->{status},
	200, 'a token with iat one second later: 200');
$r = $gw->req(POST => '/v1/guests/carol/tokens', {});
is($r->{status}, 201, 'a token minted after the revocation');
is(as_guest($r->{json}{token}, GET => '/v1/guests/bob')->{status}, 200, 'works at once');
is(as_guest($alice, GET => '/v1/guests/bob')->{status}, 200, "other guests' tokens are unaffected");

# A revocation that lands while a stream is still opening (its subscribe
# check held up by a lock on the conversation's database) ends it too: the
# opening stream is refused 401 within the poll, not started once the
# check answers.
{
	is($gw->req(PUT => '/v1/guests/erin', { display_name => 'Erin' })->{status}, 201, 'guest erin');
	my $erin = $gw->req(POST => '/v1/guests/erin/tokens', {})->{json}{token};
	my $ecid = $gw->req(POST => '/v1/conversations?as=erin', { kind => 'direct', participants => ['alice'] })->{json}{id};
	my $db = ParleyTest::conversation_db($node, $ecid);
	my $hold = 6;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$node->psql($db, "BEGIN; LOCK TABLE parley.participants IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($hold); COMMIT");
		POSIX::_exit(0);
	}
	ok(ParleyTest::poll_until(sub { $node->safe_psql($db, q{SELECT count(*) FROM pg_locks
		WHERE relation = 'parley.participants'::regclass AND mode = 'AccessExclusiveLock' AND granted}) == 1 }, 60),
		'the conversation database holds a lock the subscribe check waits for');
	my $t_lock = time();
	my $os = SSEClient->open($gw->{port}, "/v1/conversations/$ecid/events?access_token=$erin");
	ok(ParleyTest::poll_until(sub { $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND query LIKE '%events_subscribe%'}) >= 1 }, 60),
		'the stream is opening: its subscribe check waits');
	$os->pump(0);
	ok(!defined $os->{head}, 'no answer yet');
	my $t0 = time();
	is($gw->req(DELETE => '/v1/guests/erin/tokens')->{status}, 204, 'revoke erin while her stream opens');
	is($os->status(30), 401, 'the opening stream is refused: 401');
	my $took = time() - $t0;
	diag(sprintf('opening stream refused %.3f s after the revocation', $took));
	ok(time() - $t_lock < $hold, 'before its subscribe check could answer');
	like($os->body, qr/revoked/, 'it says why');
	unlike($os->body, qr/\Q$erin\E/, 'without the token');
	waitpid($pid, 0);
	is(SSEClient->open($gw->{port}, "/v1/conversations/$ecid/events?access_token=$erin")->status, 401,
		'reopening with the revoked token: 401');
}

# A stream outlives its token's exp (checked at open only).
my $short = jwt(claims => { sub => 'alice', iat => int(time()), exp => int(time()) + 2 });
my $ss = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?access_token=$short");
is($ss->status, 200, 'a stream with a token about to expire');
ok(ParleyTest::poll_until(sub { as_guest($short, GET => '/v1/guests/bob')->{status} == 401 }, 30), 'the token expires');
is(as_guest($alice, POST => "/v1/conversations/$cid/messages", { body => 'after exp' })->{status}, 201, 'a post');
ok($ss->wait_until(sub { grep { ($_->{data} // '') =~ /after exp/ } $ss->messages }, 30),
	'the stream still delivers after its token expired');
$ss->close;

# --- CORS -------------------------------------------------------------------------------
$r = $gw->req(OPTIONS => '/v1/guests/bob', undef, key => undef,
	headers => { Origin => 'https://game.example', 'Access-Control-Request-Method' => 'PUT',
		'Access-Control-Request-Headers' => 'authorization, content-type' });
is($r->{status}, 204, 'preflight: 204');
is($r->{headers}{'access-control-allow-origin'}, 'https://game.example', 'allow origin');
like($r->{headers}{'access-control-allow-methods'} // '', qr/PUT/, 'allow methods');
like($r->{headers}{'access-control-allow-headers'} // '', qr/Authorization.*Content-Type.*Last-Event-ID/, 'allow headers');
like($r->{headers}{'access-control-max-age'} // '', qr/^\d+$/, 'max age');
$r = $gw->req(OPTIONS => '/v1/guests/bob', undef, key => undef,
	headers => { Origin => 'https://evil.example', 'Access-Control-Request-Method' => 'PUT' });
ok(!grep(/^access-control-/, keys %{ $r->{headers} }), 'a foreign origin: no CORS headers');
$r = as_guest($alice, GET => '/v1/guests/bob');
like($r->{headers}{vary} // '', qr/Origin/, 'Vary: Origin always');
$r = $gw->req(GET => '/v1/guests/bob', undef, key => $alice, headers => { Origin => 'https://b.example' });
is($r->{headers}{'access-control-allow-origin'}, 'https://b.example', 'a listed origin on a response');
$r = $gw->req(GET => '/v1/guests/bob', undef, key => $alice, headers => { Origin => 'https://evil.example' });
ok(!exists $r->{headers}{'access-control-allow-origin'}, 'a foreign origin on a response: none');
$r = $gw->req(GET => '/v1/guests/nobody', undef, key => $alice, headers => { Origin => 'https://b.example' });
is($r->{headers}{'access-control-allow-origin'}, 'https://b.example', 'errors carry it too');

# --- tokens never in metrics ---
{
	my $m = $gw->req(GET => '/metrics', undef, key => undef)->{body} // '';
	like($m, qr/^parley_/m, 'metrics answered');
	for my $tok ($alice, $bob, $carol)
	{
		my ($sig) = $tok =~ /\.([^.]+)$/;
		unlike($m, qr/\Q$sig\E/, 'metrics: no token signature');
	}
	unlike($m, qr/eyJ|access_token/, 'metrics: nothing that looks like a token');
}

# --- tokens never in the log ------------------------------------------------------------
$gw->stop('gw1');
$gw2->stop('gw2');
for my $x ([gw1 => $gw], [gw2 => $gw2])
{
	my $log = $x->[1]->log_text;
	for my $tok ($alice, $bob, $carol, $short)
	{
		my ($sig) = $tok =~ /\.([^.]+)$/;
		unlike($log, qr/\Q$sig\E/, "$x->[0] log: no token signature");
	}
	unlike($log, qr/eyJ/, "$x->[0] log: nothing that looks like a JWT part");
	unlike($log, qr/access_token/, "$x->[0] log: no access_token");
}

# --- no CORS headers by default; per-guest rate limits; demo off ------------------------
$gw = ParleyTest->start(node => $node, key => $key, name => 'limits',
	env => { PARLEY_JWT_SECRET => $SECRET, PARLEY_GUEST_RATE_LIMIT => 1, PARLEY_GUEST_RATE_BURST => 3 });
$r = $gw->req(GET => '/v1/guests/bob', undef, headers => { Origin => 'https://game.example' });
ok(!grep(/^(access-control-|vary$)/, keys %{ $r->{headers} }), 'CORS off by default');
my @st = map { as_guest($alice, GET => '/v1/guests/bob')->{status} } 1 .. 8;
is_deeply([ @st[0 .. 2] ], [ 200, 200, 200 ], 'a guest: the burst passes');
ok(grep({ $_ == 429 } @st), 'then 429');
$r = as_guest($alice, GET => '/v1/guests/bob');
is($r->{status}, 429, 'still limited');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'Retry-After');
is(as_guest($bob, GET => '/v1/guests/bob')->{status}, 200, 'another guest has its own bucket');
is($gw->req(GET => '/v1/guests/bob')->{status}, 200, 'the service key is not limited by guests');
is($gw->req(POST => '/demo/token', { guest_id => 'dan', display_name => 'Dan' }, key => undef)->{status}, 404,
	'the demo endpoint is off by default');
$gw->stop('limits');

# --- the demo endpoint (PARLEY_DEMO=1) and PARLEY_JWT_AUDIENCE --------------------------
$gw = ParleyTest->start(node => $node, key => $key, name => 'demo',
	env => { PARLEY_JWT_SECRET => $SECRET, PARLEY_DEMO => 1, PARLEY_JWT_AUDIENCE => 'parley-demo' });
$r = $gw->req(POST => '/demo/token', { guest_id => 'dan', display_name => 'Dan' }, key => undef);
is($r->{status}, 201, 'demo token: 201');
my $dan = $r->{json}{token};
is(as_guest($dan, GET => '/v1/guests/dan')->{json}{display_name}, 'Dan', 'the demo created the guest; its token works');
is($gw->req(POST => '/demo/token', { guest_id => 'dan' }, key => undef)->{status}, 400, 'demo: display_name required');
is(as_guest($alice, GET => '/v1/guests/bob')->{status}, 401, 'with an audience, a token without aud: 401');
is(as_guest(jwt(claims => { %ok, iat => int(time()), exp => int(time()) + 60, aud => 'parley-demo' }),
	GET => '/v1/guests/bob')->{status}, 200, 'with the aud: 200');
is(as_guest(jwt(claims => { %ok, iat => int(time()), exp => int(time()) + 60, aud => 'other' }),
	GET => '/v1/guests/bob')->{status}, 401, 'another aud: 401');
$gw->stop('demo');

# --- revocations cannot be loaded: 503 (API.md section 7's fine points) -----------------
{
	my $gd = ParleyTest->start(node => $node, key => $key, name => 'dbdown', env => { PARLEY_JWT_SECRET => $SECRET });
	my $tok = jwt(claims => { sub => 'alice', iat => int(time()), exp => int(time()) + 600 });
	is($gd->req(GET => '/v1/guests/bob', undef, key => $tok)->{status}, 200, 'a guest token works');
	$node->stop('fast');
	ok(ParleyTest::poll_until(sub { $gd->req(GET => '/v1/guests/bob', undef, key => $tok)->{status} == 503 }, 60),
		'the database gone: a guest token gets 503 once revocations are stale (10 s)');
	$r = $gd->req(GET => '/v1/guests/bob', undef, key => $tok);
	is($r->{json}{code}, 'database_unavailable', '... database_unavailable');
	unlike($r->{body} // '', qr/\Q$tok\E/, '... without the token');
	is($gd->req(GET => '/readyz', undef, key => undef)->{status}, 503, '/readyz: 503');
	$node->start;
	ok(ParleyTest::poll_until(sub { $gd->req(GET => '/v1/guests/bob', undef, key => $tok)->{status} == 200 }, 60),
		'the database back: the token works again');
	$gd->stop('dbdown');
}

# --- asymmetric keys: PARLEY_JWT_PUBLIC_KEY (EdDSA, RS256) ------------------------------
# Keys made by the openssl CLI now; tokens signed as a game server would,
# with its private key (the gateway holds only the public one).
{
	my $kdir = PostgreSQL::Test::Utils::tempdir();
	my $ossl = sub { system('openssl', @_) == 0 or die "openssl @_: $?"; };
	for my $k ([ed => 'ed25519'], [ed2 => 'ed25519'], [rsa => 'RSA', 2048], [rsa2 => 'RSA', 2048],
		[rsa1k => 'RSA', 1024], [ec => 'EC'])
	{
		my ($name, $algo, $bits) = @$k;
		$ossl->('genpkey', '-algorithm', $algo, ($bits ? ('-pkeyopt', "rsa_keygen_bits:$bits") : ()),
			($algo eq 'EC' ? ('-pkeyopt', 'ec_paramgen_curve:P-256') : ()), '-out', "$kdir/$name.pem");
		$ossl->('pkey', '-in', "$kdir/$name.pem", '-pubout', '-out', "$kdir/$name.pub");
	}
	my $slurp = sub { open(my $fh, '<:raw', $_[0]) or die "$_[0]: $!"; local $/; return scalar <$fh>; };
	# A token signed with private key $key (EdDSA or RS256 by the key), header alg $alg.
	my $signed = sub {
		my ($key, $alg, $claims) = @_;
		my $data = encode_base64url($JSONC->encode({ alg => $alg, typ => 'JWT' })) . '.'
		  . encode_base64url($JSONC->encode($claims));
		open(my $fh, '>:raw', "$kdir/data") or die; print $fh $data; close $fh;
		if ($key =~ /^ed/) { $ossl->('pkeyutl', '-sign', '-inkey', "$kdir/$key.pem", '-rawin', '-in', "$kdir/data", '-out', "$kdir/sig"); }
		else { $ossl->('dgst', '-sha256', '-sign', "$kdir/$key.pem", '-out', "$kdir/sig", "$kdir/data"); }
		return "$data." . encode_base64url($slurp->("$kdir/sig"));
	};
	my $t = int(time());
	my %c = (sub => 'alice', iat => $t, exp => $t + 600);

	# Bad keys: parleyd refuses to start and says why.
	for my $bad ([ 'a missing file', "$kdir/nope.pub", qr/cannot read/ ],
		[ 'a private key', "$kdir/ed.pem", qr/no PEM public key/ ],
		[ 'an EC P-256 key', "$kdir/ec.pub", qr/an Ed25519 key \(EdDSA\) or an RSA key/ ],
		[ 'a 1024-bit RSA key', "$kdir/rsa1k.pub", qr/an Ed25519 key \(EdDSA\) or an RSA key/ ])
	{
		my ($what, $val, $re) = @$bad;
		my $x = ParleyTest->start(node => $node, key => $key, name => 'badkey', wait => 'none',
			env => { PARLEY_JWT_PUBLIC_KEY => $val });
		ok(ParleyTest::poll_until(sub { !$x->alive }, 30), "PARLEY_JWT_PUBLIC_KEY $what: parleyd exits");
		like($x->log_text, $re, '... and says why');
	}

	# Ed25519 as a file path; no secret.
	my $ge = ParleyTest->start(node => $node, key => $key, name => 'eddsa',
		env => { PARLEY_JWT_PUBLIC_KEY => "$kdir/ed.pub", PARLEY_LOG_LEVEL => 'debug' });
	my $ed = $signed->('ed', 'EdDSA', \%c);
	like($ed, qr/^[\w-]+\.[\w-]+\.[\w-]{86}$/, 'an EdDSA token (64-byte signature)');
	is($ge->req(GET => '/v1/guests/bob', undef, key => $ed)->{status}, 200, 'EdDSA with an Ed25519 public key file: 200');
	$r = $ge->req(PUT => '/v1/guests/bob', { display_name => 'B' }, key => $ed);
	is($r->{json}{code}, 'guest_mismatch', 'the acting guest is its sub');
	my $es = SSEClient->open($ge->{port}, "/v1/conversations/$cid/events?access_token=$ed");
	is($es->status, 200, 'an EdDSA stream with ?access_token=');
	$es->close;
	is($ge->req(GET => '/v1/guests/bob')->{status}, 200, 'service keys still work');
	my ($edh, $edc, $eds) = split /\./, $ed;
	my @edbad = (
		[ 'alg RS256 (the key is Ed25519)', $signed->('rsa', 'RS256', \%c), 'unauthorized' ],
		[ 'alg HS256 (no secret here)', jwt(claims => \%c), 'unauthorized' ],
		[ 'HS256 keyed with the public key PEM (key confusion)', jwt(claims => \%c, secret => $slurp->("$kdir/ed.pub")), 'unauthorized' ],
		[ 'alg none', jwt(head => { alg => 'none' }, claims => \%c, sig => ''), 'unauthorized' ],
		[ 'alg none with the EdDSA signature', jwt(head => { alg => 'none' }, claims => \%c, sig => $eds), 'unauthorized' ],
		[ 'signed by another Ed25519 key', $signed->('ed2', 'EdDSA', \%c), 'unauthorized' ],
		[ 'claims changed after signing', "$edh." . encode_base64url($JSONC->encode({ %c, sub => 'bob' })) . ".$eds", 'unauthorized' ],
		[ 'a signature byte flipped', "$edh.$edc." . (substr($eds, 0, 10) . (substr($eds, 10, 1) eq 'A' ? 'B' : 'A') . substr($eds, 11)), 'unauthorized' ],
		[ 'a truncated signature', "$edh.$edc." . substr($eds, 0, 43), 'unauthorized' ],
		[ 'expired', $signed->('ed', 'EdDSA', { %c, iat => $t - 700, exp => $t - 100 }), 'token_expired' ],
		[ 'lifetime over 24 h', $signed->('ed', 'EdDSA', { %c, exp => $t + 86401 }), 'unauthorized' ],
	);
	for my $b (@edbad)
	{
		my ($what, $tok, $code) = @$b;
		$r = $ge->req(GET => '/v1/guests/bob', undef, key => $tok);
		is($r->{status}, 401, "EdDSA gateway, $what: 401");
		is($r->{json}{code}, $code, "... $code");
		unlike($r->{body} // '', qr/\Q$tok\E/, '... the token is not echoed');
	}
	$r = $ge->req(POST => '/v1/guests/alice/tokens', {});
	is($r->{status}, 503, 'minting needs PARLEY_JWT_SECRET: 503 on a public-key-only gateway');
	like($r->{json}{detail} // '', qr/private key/, '... the service signs with its private key');
	is($ge->req(DELETE => '/v1/guests/alice/tokens')->{status}, 204, 'revoking works');
	ok(ParleyTest::poll_until(sub { $ge->req(GET => '/v1/guests/bob', undef, key => $ed)->{status} == 401 }, 30),
		'the EdDSA token is refused after the revocation');
	sleep 1;    # API.md section 7: a service waits a second before minting again
	my $t2 = int(time());
	is($ge->req(GET => '/v1/guests/bob', undef, key => $signed->('ed', 'EdDSA', { %c, iat => $t2, exp => $t2 + 60 }))->{status},
		200, 'a token signed after it works');
	$ge->stop('eddsa');
	my $log = $ge->log_text;
	unlike($log, qr/\Q$eds\E/, 'the EdDSA signature is not in the log');

	# RSA as PEM text, beside an HS256 secret: each alg with its own key.
	my $gr = ParleyTest->start(node => $node, key => $key, name => 'rs256',
		env => { PARLEY_JWT_PUBLIC_KEY => $slurp->("$kdir/rsa.pub"), PARLEY_JWT_SECRET => $SECRET });
	$t = int(time());
	%c = (sub => 'alice', iat => $t, exp => $t + 600);
	my $rs = $signed->('rsa', 'RS256', \%c);
	is($gr->req(GET => '/v1/guests/bob', undef, key => $rs)->{status}, 200, 'RS256 with RSA PEM text: 200');
	is($gr->req(GET => '/v1/guests/bob', undef, key => jwt(claims => \%c))->{status}, 200, 'HS256 with the secret beside it: 200');
	my ($rsh, $rsc, $rss) = split /\./, $rs;
	for my $b ([ 'alg EdDSA (the key is RSA)', $signed->('ed', 'EdDSA', \%c) ],
		[ 'signed by another RSA key', $signed->('rsa2', 'RS256', \%c) ],
		[ 'the RS256 signature under alg RS512', jwt(head => { alg => 'RS512', typ => 'JWT' }, claims => \%c, sig => $rss) ],
		[ 'the RS256 signature under alg PS256', jwt(head => { alg => 'PS256', typ => 'JWT' }, claims => \%c, sig => $rss) ],
		[ 'HS256 keyed with the public key PEM (key confusion)', jwt(claims => \%c, secret => $slurp->("$kdir/rsa.pub")) ],
		[ 'claims changed after signing', "$rsh." . encode_base64url($JSONC->encode({ %c, sub => 'bob' })) . ".$rss" ])
	{
		$r = $gr->req(GET => '/v1/guests/bob', undef, key => $b->[1]);
		is($r->{status}, 401, "RS256 gateway, $b->[0]: 401");
		is($r->{json}{code}, 'unauthorized', '... unauthorized');
	}
	is($gr->req(POST => '/v1/guests/alice/tokens', {})->{status}, 201, 'with a secret too, minting works (HS256)');
	$gr->stop('rs256');
}

done_testing();

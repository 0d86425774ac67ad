
# Malformed HTTP and JSON: every one is refused with a 4xx or a closed
# connection, never a crash, never a change of data, and the server keeps
# serving everyone else.
use strict;
use warnings;

use IO::Socket::INET;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = ParleyTest::new_node('malformed');
my $key  = ParleyTest::create_key($node, 'malformed-test');
my $gw   = ParleyTest->start(node => $node, key => $key, env => { PARLEY_HTTP_TIMEOUT => 2 });

is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'alice');

sub alice_unchanged
{
	my ($name) = @_;
	my $r = $gw->req(GET => '/v1/guests/alice');
	ok($r->{status} == 200 && $r->{json}{display_name} eq 'Alice' && !%{ $r->{json}{metadata} },
		"read-back after $name: alice unchanged")
	  or diag($r->{body});
}

# --- JSON bodies ------------------------------------------------------------------
my @json_cases = (
	[ 'empty body',            '',                                             'invalid_json' ],
	[ 'truncated',             '{"display_name": "Mallory"',                   'invalid_json' ],
	[ 'trailing garbage',      '{"display_name": "Mallory"} {}',               'invalid_json' ],
	[ 'trailing comma',        '{"display_name": "Mallory",}',                 'invalid_json' ],
	[ 'not an object',         '["display_name", "Mallory"]',                  'validation_failed' ],
	[ 'a bare string',         '"Mallory"',                                    'validation_failed' ],
	[ 'duplicate key',         '{"display_name": "A", "display_name": "Mallory"}', 'invalid_json' ],
	[ 'duplicate key, escaped', '{"display_name": "A", "display\u005fname": "Mallory"}', 'invalid_json' ],
	[ 'nested duplicate key',  '{"display_name": "M", "metadata": {"a": 1, "a": 2}}', 'invalid_json' ],
	[ 'invalid UTF-8',         "{\"display_name\": \"Mall\xC3\x28ory\"}",      'invalid_json' ],
	[ 'overlong UTF-8',        "{\"display_name\": \"\xC0\xAF\"}",             'invalid_json' ],
	[ 'UTF-8 surrogate',       "{\"display_name\": \"\xED\xA0\x80\"}",         'invalid_json' ],
	[ 'raw NUL byte',          "{\"display_name\": \"Mall\x00ory\"}",          'invalid_json' ],
	[ 'raw control character', "{\"display_name\": \"Mall\x01ory\"}",          'invalid_json' ],
	[ '\u0000',                '{"display_name": "Mall\u0000ory"}',            'validation_failed' ],
	[ '\u0000 in a key',       '{"display_name": "M", "metadata": {"a\u0000": 1}}', 'validation_failed' ],
	[ 'lone high surrogate',   '{"display_name": "Mall\ud800ory"}',            'validation_failed' ],
	[ 'lone low surrogate',    '{"display_name": "Mall\udc00ory"}',            'validation_failed' ],
	[ 'reversed pair',         '{"display_name": "\udc00\ud800"}',             'validation_failed' ],
	[ 'bad escape',            '{"display_name": "\x"}',                       'invalid_json' ],
	[ 'deep nesting',          '{"display_name": "M", "metadata": ' . ('[' x 5000) . (']' x 5000) . '}', 'validation_failed' ],
	[ 'metadata 40 levels',    '{"display_name": "M", "metadata": ' . ('{"a":' x 40) . '1' . ('}' x 40) . '}', 'validation_failed' ],
	# Too deep is found at level 33, before the end shows the document unclosed.
	[ 'unclosed nesting',      '{"display_name": "M", "metadata": ' . ('[' x 900), 'validation_failed' ],
	[ 'unclosed, shallow',     '{"display_name": "M", "metadata": ' . ('[' x 20), 'invalid_json' ],
	[ 'NaN',                   '{"display_name": "M", "metadata": {"x": NaN}}', 'invalid_json' ],
	[ 'single quotes',         "{'display_name': 'Mallory'}",                  'invalid_json' ],
	[ 'wrong type',            '{"display_name": ["Mallory"]}',                'validation_failed' ],
	[ 'metadata not object',   '{"display_name": "M", "metadata": [1]}',       'validation_failed' ],
);
for my $c (@json_cases)
{
	my ($name, $body, $code) = @$c;
	my $r = $gw->req(PUT => '/v1/guests/alice', $body);
	is($r->{status}, 400, "$name: 400") or diag($r->{body});
	is($r->{json}{code}, $code, "$name: $code");
}
alice_unchanged('bad JSON');

# A valid surrogate pair and escapes are fine; the stored text is exact.
my $r = $gw->req(PUT => '/v1/guests/emoji', '{"display_name": "\ud83d\ude00 \u00e9\"\\\\"}');
is($r->{status}, 201, 'a surrogate pair is accepted');
is($r->{json}{display_name}, "\x{1F600} \x{e9}\"\\", 'and stored exactly');
is($gw->req(PUT => '/v1/guests/case', '{"Display_Name": "X", "display_name": "Y"}')->{json}{display_name},
	'Y', 'field names are case-sensitive');

# --- paths and queries -------------------------------------------------------------
for my $p ('/v1/guests/%zz', '/v1/guests/%', '/v1/guests/a%00b', '/v1/guests/%C3%28')
{
	$r = $gw->req(GET => $p);
	ok($r->{status} == 400 || $r->{status} == 404, "$p: 400 or 404") or diag($r->{status});
}
is($gw->req(GET => '/v1/guests/ali%63e')->{json}{guest_id}, 'alice', 'percent-decoded segment');
is($gw->req(GET => '/v1/guests/alice%2Fx')->{status}, 400, '%2F stays inside its segment');
is($gw->req(GET => '/v1/guests/alice/conversations?limit=%zz')->{status}, 400, 'bad query escape: 400');
is($gw->req(GET => '/v1/guests/alice/conversations?limit=1e3')->{status}, 400, 'limit 1e3: 400');
is($gw->req(GET => '/v1/guests/alice/conversations?' . join('&', map { "x$_=1" } 1 .. 40))->{status},
	400, 'too many query parameters: 400');
is($gw->req(GET => '/' . ('a/' x 40))->{status}, 404, 'many segments: 404');

# --- malformed HTTP ----------------------------------------------------------------
# Each with the real key, so that a 401 cannot hide whether the HTTP layer
# refused it; each refusal is its exact status, as problem+json, and ends
# the connection.  (016_http_strict.pl has the smuggling cases.)
my $authz = "Authorization: Bearer $key\r\n";
my %raw = (
	'garbage request line'   => [ "NONSENSE\r\n\r\n", 501 ],
	'binary noise'           => [ "\x01\x02" . join('', map { chr(int(rand(256))) } 1 .. 300) . "\r\n\r\n", 501 ],
	'unknown method'         => [ "BREW /v1/guests/alice HTTP/1.1\r\nHost: x\r\n$authz\r\n", 501 ],
	'bad version'            => [ "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505 ],
	'header without colon'   => [ "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400 ],
	'negative length'        => [ "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\n${authz}Content-Length: -5\r\n\r\n", 400 ],
	'huge length'            => [ "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\n${authz}Content-Length: 99999999999999999999\r\n\r\n", 400 ],
	'length over the limit'  => [ "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\n${authz}Content-Length: 999999999\r\n\r\n", 413 ],
	'bad chunk'              => [ "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n$authz\r\nzz\r\n{}\r\n0\r\n\r\n", 400 ],
	'huge headers'           => [ "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 70000) . "\r\n\r\n", 431 ],
	'many headers'           => [ "GET /healthz HTTP/1.1\r\n" . join('', map { "X-H$_: v\r\n" } 1 .. 3000) . "\r\n", 431 ],
	'long URL'               => [ "GET /v1/guests/" . ('a' x 100000) . " HTTP/1.1\r\nHost: x\r\n\r\n", 414 ],
	'absolute URI garbage'   => [ "GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", 400 ],
	'space in path'          => [ "GET /v1/guests/al ice HTTP/1.1\r\nHost: x\r\n$authz\r\n", 400 ],
);
for my $name (sort keys %raw)
{
	my ($bytes, $want) = @{ $raw{$name} };
	my $out = $gw->raw($bytes, 10, 1);
	is(ParleyTest::raw_status($out), $want, "$name: $want") or diag(substr($out, 0, 300));
	like($out, qr{\r\nContent-Type: application/problem\+json\r\n}, "$name: problem+json");
	like($out, qr{\r\nConnection: close\r\n}, "$name: Connection: close");
	ok($gw->alive, "$name: parleyd still runs");
}

# Chunked bodies are bodies too: a valid one works, an oversized one is 413,
# a malformed one 400.
my $chunked = '{"display_name": "Chunky"}';
my $out = $gw->raw("PUT /v1/guests/chunky HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
	  . "Content-Type: application/json\r\nAuthorization: Bearer $key\r\n\r\n"
	  . sprintf('%x', length $chunked) . "\r\n$chunked\r\n0\r\n\r\n");
is(ParleyTest::raw_status($out), '201', 'a chunked body works');
my $pad = 'x' x 100000;
my $big = "{\"display_name\":\"$pad\"}";
$out = $gw->raw("PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
	  . "Content-Type: application/json\r\nAuthorization: Bearer $key\r\n\r\n"
	  . sprintf('%x', length $big) . "\r\n$big\r\n0\r\n\r\n", 10, 1);
is(ParleyTest::raw_status($out), '413', 'an oversized chunked body: 413');
$out = $gw->raw("PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	  . "Content-Type: application/json\r\nAuthorization: Bearer $key\r\n\r\n"
	  . sprintf('%x', length($big) - 20) . "\r\n$big\r\n0\r\n\r\n", 10, 1);
is(ParleyTest::raw_status($out), '400', 'a chunk longer than its size: 400, not 413');
like($out, qr{\r\nContent-Type: application/problem\+json\r\n}, 'a malformed chunk: problem+json');
alice_unchanged('malformed HTTP');

# Pipelined requests on one connection are answered, in order.
$out = $gw->raw("GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $key\r\n\r\n"
	  . "GET /v1/guests/nobody HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $key\r\n\r\n"
	  . "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5, 1);
is_deeply([ $out =~ m{HTTP/1\.1 (\d{3})}g ], [ 200, 404, 200 ], 'pipelined requests answered in order');
$out = $gw->raw("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5, 1);
like($out, qr{^HTTP/1\.1 200}, 'HEAD: 200, as GET');
like($out, qr{\r\nContent-Length: 15\r\n}, "HEAD: the GET's Content-Length");
unlike($out, qr/\r\n\r\n./s, 'HEAD: no body');
$out = $gw->raw("HEAD /v1/guests/alice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5, 1);
like($out, qr{^HTTP/1\.1 401}, 'HEAD without a key: 401, as GET');
unlike($out, qr/\r\n\r\n./s, 'HEAD 401: no body');

# --- slow and many clients -----------------------------------------------------------
# Half-sent requests hold a connection but not the server; PARLEY_HTTP_TIMEOUT
# (2 s here) closes them.
my @slow;
for (1 .. 20)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or next;
	print $s "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n";
	push @slow, $s;
}
is($gw->req(GET => '/v1/guests/alice')->{status}, 200, 'served while 20 clients are half-sent');
my $closed = ParleyTest::poll_until(
	sub {
		for my $s (@slow)
		{
			$s->blocking(0);
			my $n = sysread($s, my $buf, 4096);
			return 0 unless defined $n && $n == 0 || (defined $n && $buf =~ /^HTTP/);
		}
		return 1;
	},
	10);
ok($closed, 'slow clients are closed after PARLEY_HTTP_TIMEOUT');
close($_) for @slow;

# Many connections at once, each with a request.  A gateway with the
# default HTTP timeout: on a loaded machine opening 300 connections may take
# longer than the 2 s above.
my $gw2 = ParleyTest->start(node => $node, key => $key, name => 'many');
my @many;
for (1 .. 300)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw2->{port}) or last;
	push @many, $s;
}
is(scalar @many, 300, '300 connections open');
print $_ "GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $key\r\nConnection: close\r\n\r\n" for @many;
my $ok = 0;
my %other;
for my $s (@many)
{
	local $/;
	my $resp = <$s> // '';
	if ($resp =~ m{^HTTP/1\.1 200}) { $ok++; }
	else { $other{ substr($resp, 0, 200) }++; }
	close($s);
}
is($ok, 300, 'all 300 answered 200') or diag(explain(\%other));
$gw2->stop('parleyd (many)');

# Clients that go away mid-request: the server finishes and carries on.
for (1 .. 20)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or next;
	print $s "GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $key\r\n\r\n";
	close($s);
}
is($gw->req(GET => '/v1/guests/alice')->{status}, 200, 'still serving after clients vanished');

ok($gw->alive, 'parleyd survived everything');
$gw->stop;
$node->stop;
done_testing();

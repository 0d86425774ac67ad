
# The HTTP layer as an attacker sees it (issue 14): request smuggling and
# framing over raw sockets.  Each attack is followed, on the same
# connection, by a hidden authorised request (PUT /v1/guests/<unique>); the
# suite asserts the exact status of every reply and that the hidden guest
# does not exist afterwards.  The real service key is sent everywhere, so a
# 401 cannot hide whether the parser refused.  Every error of the HTTP
# layer is application/problem+json, and a framing error closes the
# connection.
use strict;
use warnings;

use IO::Socket::INET;
use ParleyTest;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = ParleyTest::new_node('strict');
my $key  = ParleyTest::create_key($node, 'strict-test');
my $gw   = ParleyTest->start(node => $node, key => $key, env => { PARLEY_HTTP_TIMEOUT => 3 });
my $auth = "Authorization: Bearer $key\r\n";

is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'alice');

my $n = 0;

# A hidden request: a PUT of a new guest, closing the connection after it.
sub hidden
{
	my $g    = sprintf('smuggled%03d', ++$n);
	my $body = qq({"display_name":"$g"});
	return ($g,
		    "PUT /v1/guests/$g HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n"
		  . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
}

sub guest_exists
{
	my ($g) = @_;
	return $node->safe_psql(ParleyTest::guest_db($node, $g),
		"SELECT count(*) FROM parley.guests WHERE guest_id = '$g'") ne '0';
}

# The status codes of every reply in what the server sent, in order.
sub statuses
{
	my ($out) = @_;
	return [ $out =~ m{HTTP/1\.[01] (\d{3}) }g ];
}

# The last reply: its head and its body.
sub last_reply
{
	my ($out) = @_;
	my $at = 0;
	$at = $-[0] while $out =~ m{HTTP/1\.[01] \d{3} }g;
	my ($head, $body) = split /\r\n\r\n/, substr($out, $at), 2;
	return ($head // '', $body // '');
}

# An error reply of the HTTP layer: problem+json with the status and the
# code, a Content-Length that matches, and "Connection: close".
sub check_problem
{
	my ($name, $out, $status, $code, %o) = @_;
	my ($head, $body) = last_reply($out);
	like($head, qr{^HTTP/1\.1 $status }, "$name: HTTP/1.1 $status");
	like($head, qr{\r\nContent-Type: application/problem\+json\r\n}i, "$name: problem+json");
	my ($len) = $head =~ /\r\nContent-Length: (\d+)/i;
	ok(defined $len && $len == length($body), "$name: Content-Length matches the body")
	  or diag($head);
	my $j = eval { $ParleyTest::JSON->decode($body) } // {};
	is($j->{status}, $status, "$name: body status");
	is($j->{code}, $code, "$name: code $code") if defined $code;
	like($head, qr{\r\nConnection: close}i, "$name: Connection: close") unless $o{keep_alive};
}

# Send the attack, then the hidden request; expect exactly these statuses
# and no hidden guest.  Returns what the server sent.
sub attack
{
	my ($name, $bytes, $expect, %o) = @_;
	my ($g, $hide) = hidden();
	my $out = $gw->raw($bytes . $hide . ($o{after} // ''), 10, 1);
	is_deeply(statuses($out), $expect, "$name: replies " . join(',', @$expect))
	  or diag(substr($out, 0, 800));
	ok(!guest_exists($g), "$name: the hidden request did not run");
	check_problem($name, $out, $expect->[-1], $o{code}) if $expect->[-1] >= 400;
	return $out;
}

# A request that ends the connection after the hidden one was framed away.
my $sentinel = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

# --- bodies on methods without one: framed by Content-Length, never a request ----------
{
	my ($g, $hide) = hidden();
	my $len = length $hide;
	my $out = $gw->raw("HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: $len\r\n\r\n$hide$sentinel", 10, 1);
	is_deeply(statuses($out), [ 200, 200 ], 'HEAD with a body: the body is not a request');
	ok(!guest_exists($g), 'HEAD with a body: the hidden request did not run');

	($g, $hide) = hidden();
	$len = length $hide;
	$out = $gw->raw("TRACE /healthz HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: $len\r\n\r\n$hide$sentinel", 10, 1);
	is_deeply(statuses($out), [ 405, 200 ], 'TRACE with a body: 405, the body is not a request');
	ok(!guest_exists($g), 'TRACE with a body: the hidden request did not run');

	($g, $hide) = hidden();
	$len = length $hide;
	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: $len\r\n\r\n$hide$sentinel", 10, 1);
	is_deeply(statuses($out), [ 200, 200 ], 'GET with a body: the body is not a request');
	ok(!guest_exists($g), 'GET with a body: the hidden request did not run');
}

# --- framing errors: 400, close, nothing after it runs ---------------------------------
my $put = "PUT /v1/guests/alice HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n";
my $aj  = '{"display_name":"Alice"}';
my $alen = length $aj;

attack('two different Content-Length',
	"${put}Content-Length: 0\r\nContent-Length: $alen\r\n\r\n", [400], code => 'bad_request', after => '');
attack('two equal Content-Length',
	"${put}Content-Length: $alen\r\nContent-Length: $alen\r\n\r\n$aj", [400], code => 'bad_request');
attack('white space before the colon (Content-Length)',
	"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nabcde", [400], code => 'bad_request');
attack('white space before the colon (Transfer-Encoding)',
	"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", [400], code => 'bad_request');
attack('Content-Length: +N',
	"${put}Content-Length: +$alen\r\n\r\n$aj", [400], code => 'bad_request');
attack('Content-Length: -1',
	"${put}Content-Length: -1\r\n\r\n", [400], code => 'bad_request');
attack('chunk size 0x..',
	"${put}Transfer-Encoding: chunked\r\n\r\n0x" . sprintf('%x', $alen) . "\r\n$aj\r\n0\r\n\r\n",
	[400], code => 'bad_request');
attack('chunk size +..',
	"${put}Transfer-Encoding: chunked\r\n\r\n+" . sprintf('%x', $alen) . "\r\n$aj\r\n0\r\n\r\n",
	[400], code => 'bad_request');
attack('Transfer-Encoding: chunked on HTTP/1.0',
	"PUT /v1/guests/alice HTTP/1.0\r\nHost: x\r\n${auth}Content-Type: application/json\r\nConnection: keep-alive\r\n"
	  . "Transfer-Encoding: chunked\r\n\r\n" . sprintf('%x', $alen) . "\r\n$aj\r\n0\r\n\r\n",
	[400], code => 'bad_request');
attack('CL.TE: Content-Length then Transfer-Encoding',
	"POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n"
	  . "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400], code => 'bad_request');
{
	# TE.CL: the chunk holds the hidden request; a server that used
	# Content-Length would run it.
	my ($g, $hide) = hidden();
	my $chunk = sprintf('%x', length $hide) . "\r\n";
	my $out = $gw->raw("POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n"
		  . "Transfer-Encoding: chunked\r\nContent-Length: " . length($chunk) . "\r\n\r\n$chunk$hide\r\n0\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [400], 'TE.CL: 400');
	ok(!guest_exists($g), 'TE.CL: the hidden request did not run');
	check_problem('TE.CL', $out, 400, 'bad_request');
}
attack('Transfer-Encoding other than chunked last',
	"${put}Transfer-Encoding: chunked, identity\r\n\r\n", [400], code => 'bad_request');
attack('Transfer-Encoding: xchunked',
	"${put}Transfer-Encoding: xchunked\r\n\r\n", [400], code => 'bad_request');
attack('an unknown transfer coding before chunked',
	"${put}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", [501], code => 'not_implemented');
attack('two Transfer-Encoding fields',
	"${put}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400], code => 'bad_request');
attack('obsolete line folding',
	"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 5\r\n\r\nabcde", [400], code => 'bad_request');
attack('obsolete line folding of an empty value',
	"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nabcde", [400], code => 'bad_request');
attack('a malformed chunk (data longer than its size)',
	"${put}Transfer-Encoding: chunked\r\n\r\n4\r\n$aj\r\n0\r\n\r\n", [400], code => 'bad_request');
attack('a chunk size too big for 64 bits',
	"${put}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", [400], code => 'bad_request');
attack('HTTP/1.1 without Host',
	"GET /healthz HTTP/1.1\r\n\r\n", [400], code => 'bad_request');
attack('two Host fields',
	"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [400], code => 'bad_request');
attack('a space inside the path',
	"GET /v1/guests/al ice HTTP/1.1\r\nHost: x\r\n$auth\r\n", [400], code => 'bad_request');
attack('a NUL in the request line',
	"GET /v1/guests/al\0ice HTTP/1.1\r\nHost: x\r\n$auth\r\n", [400], code => 'bad_request');
attack('a bare LF line end',
	"GET /healthz HTTP/1.1\nHost: x\n\n", [400], code => 'bad_request');

# --- Authorization: never the first of two, never the part before a NUL ------------------
for my $c (
	[ 'Authorization with a NUL', "Authorization: Bearer $key\0junk\r\n" ],
	[ 'two Authorization fields', "Authorization: Bearer $key\r\nAuthorization: Bearer junk\r\n" ])
{
	my ($name, $authz) = @$c;
	my $g    = sprintf('authz%03d', ++$n);
	my $body = qq({"display_name":"$g"});
	my $out  = $gw->raw("PUT /v1/guests/$g HTTP/1.1\r\nHost: x\r\n${authz}Content-Type: application/json\r\n"
		  . "Content-Length: " . length($body) . "\r\n\r\n$body", 10, 1);
	is_deeply(statuses($out), [400], "$name: 400");
	ok(!guest_exists($g), "$name: not stored");
	check_problem($name, $out, 400, 'bad_request');
}

# --- versions, CONNECT, methods ---------------------------------------------------------
{
	# RFC 9110 6.2: a server may refuse a version with 505 "for any reason";
	# llhttp in strict mode knows 1.0 and 1.1.  The status line is ours.
	my $out = attack('HTTP/1.2', "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", [505],
		code => 'http_version_not_supported');
	like($out, qr{^HTTP/1\.1 505 }, 'HTTP/1.2: the status line says HTTP/1.1');
	attack('HTTP/2.0 over HTTP/1', "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", [505],
		code => 'http_version_not_supported');
	attack('HTTP/9.9', "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", [505],
		code => 'http_version_not_supported');

	# CONNECT: one complete reply with a length, and the connection ends;
	# the pipelined request after it is not answered.
	$out = attack('CONNECT', "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n$auth\r\n", [404],
		code => 'not_found');

	# An Upgrade request is answered as HTTP and ends the connection: the
	# bytes after it (a tunnel's, to the client) are never a request.
	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		  . "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n" . (hidden())[1], 10, 1);
	is_deeply(statuses($out), [200], 'Upgrade: answered as HTTP/1.1, nothing after it');
	like($out, qr{\r\nConnection: close\r\n}, 'Upgrade: Connection: close');
	ok(!guest_exists(sprintf('smuggled%03d', $n)), 'Upgrade: the hidden request did not run');

	attack('an unknown method', "BREW /v1/guests/alice HTTP/1.1\r\nHost: x\r\n$auth\r\n", [501],
		code => 'not_implemented');
	$out = $gw->raw("OPTIONS /v1/guests/alice HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [405], 'a known method not served on a known path: 405');
	like($out, qr{\r\nAllow: [^\r]*GET}, '405 has Allow');
	check_problem('OPTIONS', $out, 405, 'method_not_allowed');
}

# --- HEAD on every GET route: the GET's status and headers, no body ---------------------
for my $path ('/healthz', '/readyz', '/openapi.json', '/metrics', '/v1/guests/alice', '/v1/guests/nobody')
{
	my $get  = $gw->raw("GET $path HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n", 10, 1);
	my $head = $gw->raw("HEAD $path HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n", 10, 1);
	my ($gh, $gb) = last_reply($get);
	my ($hh, $hb) = last_reply($head);
	my ($gs) = $gh =~ m{^HTTP/1\.1 (\d{3})};
	like($hh, qr{^HTTP/1\.1 $gs }, "HEAD $path: the GET's status ($gs)");
	my ($glen) = $gh =~ /\r\nContent-Length: (\d+)/i;
	my ($hlen) = $hh =~ /\r\nContent-Length: (\d+)/i;
	# /metrics counts requests, so only its presence is compared
	if ($path eq '/metrics') { ok(defined $hlen && $hlen > 0, "HEAD $path: a Content-Length"); }
	else { is($hlen, $glen, "HEAD $path: the GET's Content-Length"); }
	my ($gct) = $gh =~ /\r\nContent-Type: ([^\r]+)/i;
	my ($hct) = $hh =~ /\r\nContent-Type: ([^\r]+)/i;
	is($hct, $gct, "HEAD $path: the GET's Content-Type");
	is($hb, '', "HEAD $path: no body");
}
{
	my $out = $gw->raw("HEAD /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [405], 'HEAD on a POST-only route: 405');
	# pipelined HEADs: each reply ends at its head
	$out = $gw->raw("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n$sentinel", 10, 1);
	is_deeply(statuses($out), [ 200, 200, 200 ], 'pipelined HEADs are answered in order');
}

# --- chunked bodies: extensions ignored, bad ones 400, big ones 413 -----------------------
{
	my $g    = sprintf('chunkext%03d', ++$n);
	my $body = qq({"display_name":"$g"});
	my $out  = $gw->raw("PUT /v1/guests/$g HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n"
		  . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		  . sprintf('%x', 5) . ";ext=1\r\n" . substr($body, 0, 5) . "\r\n"
		  . sprintf('%x', length($body) - 5) . ";a=\"b c\";d\r\n" . substr($body, 5) . "\r\n0\r\nX-Trailer: 1\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [201], 'chunk extensions and trailers are accepted and ignored');
	ok(guest_exists($g), 'chunk extensions: stored');

	my $pad = 'x' x 100000;
	my $big = qq({"display_name":"$pad"});
	$out = $gw->raw("${put}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		  . sprintf('%x', length $big) . "\r\n$big\r\n0\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [413], 'a chunked body over the limit: 413');
	check_problem('chunked 413', $out, 413, 'payload_too_large', keep_alive => 1);

	my $huge = 'y' x 200000;
	$out = $gw->raw("${put}Transfer-Encoding: chunked\r\n\r\n" . sprintf('%x', length $huge) . "\r\n$huge\r\n0\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [413], 'a chunked body over twice the limit: 413');
	check_problem('chunked huge', $out, 413, 'payload_too_large');
}

# --- limits: problem+json from the HTTP layer itself ------------------------------------
{
	my $out = $gw->raw("${put}Content-Length: 200000\r\n\r\n" . ('z' x 200000), 10, 1);
	is_deeply(statuses($out), [413], 'Content-Length over twice the limit: 413 at once');
	check_problem('Content-Length 413', $out, 413, 'payload_too_large');

	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 20000) . "\r\n\r\n", 10, 1);
	check_problem('a 20 KB header', $out, 431, 'header_too_large');
	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\n" . join('', map { "X-H$_: v\r\n" } 1 .. 200) . "\r\n", 10, 1);
	check_problem('200 header fields', $out, 431, 'header_too_large');
	$out = $gw->raw("GET /v1/guests/" . ('a' x 20000) . " HTTP/1.1\r\nHost: x\r\n\r\n", 10, 1);
	check_problem('a 20 KB URL', $out, 414, 'uri_too_long');
	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\n" . (' ' x 20000) . "\r\n\r\n", 10, 1);
	like($out, qr{^HTTP/1\.1 (400|431) }, 'a head padded with white space is refused');

	# A request that stops half-way gets 408 after PARLEY_HTTP_TIMEOUT (3 s).
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die "connect: $!";
	print $s "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	my $got = '';
	my $deadline = time() + 30;
	$s->blocking(0);
	while (time() < $deadline)
	{
		my $r = sysread($s, my $buf, 4096);
		last if defined $r && $r == 0;
		$got .= $buf if defined $r;
		usleep(50_000) unless defined $r;
	}
	close $s;
	check_problem('a half-sent request', $got, 408, 'request_timeout');
}

# A client that trickles its head a byte at a time is held to the same
# deadline for the whole request (the read timeout alone sees no silence).
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die "connect: $!";
	$s->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	my $head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('s' x 200) . "\r\n\r\n";
	my $got = '';
	my $deadline = time() + 60;
	$s->blocking(0);
	for (my $i = 0; time() < $deadline && $i < length $head; $i++)
	{
		syswrite($s, substr($head, $i, 1)) or last;
		usleep(300_000);
		my $r = sysread($s, my $buf, 4096);
		$got .= $buf if defined $r && $r > 0;
		last if $got =~ /\r\n\r\n/ || (defined $r && $r == 0);
	}
	while (time() < $deadline && $got !~ /\r\n\r\n\{.*\}/s)
	{
		my $r = sysread($s, my $buf, 4096);
		last if defined $r && $r == 0;
		if (defined $r) { $got .= $buf; } else { usleep(50_000); }
	}
	close $s;
	check_problem('a trickled request', $got, 408, 'request_timeout');
}

# --- keep-alive, pipelining, HTTP/1.0, Expect ------------------------------------------
{
	my $out = $gw->raw("GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\n$auth\r\n"
		  . "PUT /v1/guests/pipe HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"display_name\":\"P\"}"
		  . "GET /v1/guests/nobody HTTP/1.1\r\nHost: x\r\n$auth\r\n" . $sentinel, 10, 1);
	is_deeply(statuses($out), [ 200, 201, 404, 200 ], 'pipelined requests: one reply each, in order');

	$out = $gw->raw("GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [200], 'HTTP/1.0: one request, then the connection closes');
	$out = $gw->raw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [ 200, 200 ], 'HTTP/1.0 with keep-alive: the connection stays');
	like($out, qr{\r\nConnection: keep-alive\r\n}i, 'HTTP/1.0 keep-alive is confirmed');
	$out = $gw->raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10, 1);
	is_deeply(statuses($out), [200], 'Connection: close: nothing after it is answered');

	# Expect: 100-continue: the interim reply comes before the body is sent.
	my $e = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die "connect: $!";
	$e->autoflush(1);
	print $e "PUT /v1/guests/expect HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n"
	  . "Expect: 100-continue\r\nContent-Length: 20\r\nConnection: close\r\n\r\n";
	my $interim = '';
	my $deadline = time() + 30;
	$e->blocking(0);
	while (time() < $deadline && $interim !~ /\r\n\r\n/)
	{
		my $r = sysread($e, my $buf, 4096);
		last if defined $r && $r == 0;
		if (defined $r) { $interim .= $buf; } else { usleep(20_000); }
	}
	like($interim, qr{^HTTP/1\.1 100 Continue\r\n\r\n$}, 'Expect: 100-continue gets 100 before the body');
	$e->blocking(1);
	print $e '{"display_name":"E"}';
	local $/;
	my $rest = <$e>;
	close $e;
	is_deeply(statuses($rest // ''), [201], 'then the reply');

	# Half-close: a client that shuts down its side still gets its replies.
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die "connect: $!";
	print $s "GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\n$auth\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	shutdown($s, 1);
	local $/;
	my $all = <$s>;
	close $s;
	is_deeply(statuses($all // ''), [ 200, 200 ], 'half-closed client: both replies, then close');
}

# --- streams: chunked on HTTP/1.1, delimited by the close on HTTP/1.0; HEAD gets the head --
{
	is($gw->req(PUT => '/v1/guests/bob', { display_name => 'Bob' })->{status}, 201, 'bob');
	my $r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'direct', participants => ['bob'] });
	my $cid = $r->{json}{id} // '';
	for my $v ('1.1', '1.0')
	{
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}) or die "connect: $!";
		print $s "GET /v1/conversations/$cid/events?as=alice HTTP/$v\r\nHost: x\r\n$auth\r\n";
		my $got = '';
		my $deadline = time() + 30;
		$s->blocking(0);
		while (time() < $deadline && $got !~ /retry: \d+/)
		{
			my $n = sysread($s, my $buf, 4096);
			last if defined $n && $n == 0;
			if (defined $n) { $got .= $buf; } else { usleep(20_000); }
		}
		close $s;
		my ($head, $body) = split /\r\n\r\n/, $got, 2;
		like($head, qr{^HTTP/1\.1 200 }, "HTTP/$v stream: 200");
		like($head, qr{\r\nContent-Type: text/event-stream\r\n}, "HTTP/$v stream: text/event-stream");
		like($head, qr{\r\nCache-Control: no-cache\r\n}, "HTTP/$v stream: no-cache");
		like($head, qr{\r\nX-Accel-Buffering: no\r\n}, "HTTP/$v stream: X-Accel-Buffering");
		unlike($head, qr{\r\nContent-Length:}i, "HTTP/$v stream: no Content-Length");
		if ($v eq '1.1')
		{
			like($head, qr{\r\nTransfer-Encoding: chunked(?:\r\n|$)}, 'HTTP/1.1 stream: chunked');
			like($body // '', qr{^[0-9a-f]+\r\n}, 'HTTP/1.1 stream: the body is in chunks');
		}
		else
		{
			unlike($head, qr{Transfer-Encoding}, 'HTTP/1.0 stream: not chunked');
			like($body // '', qr{^(?::|retry:|id:|event:)}, 'HTTP/1.0 stream: event text as it is');
		}
	}
	my $out = $gw->raw("HEAD /v1/conversations/$cid/events?as=alice HTTP/1.1\r\nHost: x\r\n$auth\r\n", 10, 1);
	my ($hh, $hb) = last_reply($out);
	like($hh, qr{^HTTP/1\.1 200 .*\r\nContent-Type: text/event-stream\r\n}s, 'HEAD on a stream: the head');
	is($hb, '', 'HEAD on a stream: no body, and the connection closes');
	$out = $gw->raw("HEAD /v1/conversations/$cid/events?as=nobody HTTP/1.1\r\nHost: x\r\n$auth\r\n", 10, 1);
	like($out, qr{^HTTP/1\.1 403 }, 'HEAD on a stream of a non-participant: 403, as GET');
}

ok($gw->alive, 'parleyd still runs');
is($gw->req(GET => '/v1/guests/alice')->{json}{display_name}, 'Alice', 'alice unchanged');
$gw->stop;

done_testing();

# The demo chat page (demo/, served at /demo/ with PARLEY_DEMO=1) in a real
# browser: headless Chromium driven by test/browser/chat.mjs (puppeteer-core).
# Two guests sign in with tokens from POST /demo/token and chat, each seeing
# the other's messages live; one page's connections are dropped while the
# other posts, and it resumes without loss or duplicates; revoking the
# guest's tokens ends the session on its page; a page of an origin listed in
# PARLEY_CORS_ORIGINS may call the API and one of another origin may not.
# Screenshots go to $TESTDIR/019_browser/.
#
# Also the serving itself, over plain HTTP: Content-Type, Cache-Control,
# HEAD, no directory traversal, 404 without PARLEY_DEMO.
use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run ();
use ParleyTest;
use PostgreSQL::Test::Cluster;
use Test::More;

my $src      = $ENV{PARLEY_SRC} // '.';
my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';
my $missing =
    !-x $chromium ? "no $chromium (test/install-deps.sh installs it)"
  : !-d "$src/test/browser/node_modules/puppeteer-core" ? 'no puppeteer-core (run test/browser/install.sh)'
  : system('node --version >/dev/null 2>&1') != 0 ? 'no node'
  : undef;
if ($missing)
{
	# make test installs both: there a missing browser is a failure.
	BAIL_OUT("browser suite: $missing") if $ENV{PARLEY_BROWSER_REQUIRED};
	plan skip_all => $missing;
}

my $node = ParleyTest::new_node('browser');
my $key  = ParleyTest::create_key($node, 'browser-test');

# --- without PARLEY_DEMO there is no demo ----------------------------------
my $off = ParleyTest->start(node => $node, key => $key, name => 'demo_off');
is($off->req(GET => '/demo/', undef, key => undef)->{status}, 404, 'PARLEY_DEMO unset: /demo/ is 404');
is($off->req(GET => '/demo/parley.js', undef, key => undef)->{status}, 404, '... and its files');
is($off->req(POST => '/demo/token', { guest_id => 'x', display_name => 'x' }, key => undef)->{status},
	404, '... and the token endpoint');
$off->stop;

my $cors_port = PostgreSQL::Test::Cluster::get_free_port();
my $gw = ParleyTest->start(
	node => $node,
	key  => $key,
	env  => {
		PARLEY_DEMO         => 1,
		PARLEY_DEMO_DIR     => "$src/demo",
		PARLEY_JWT_SECRET   => 'browser-suite-secret-of-32-bytes-at-least',
		PARLEY_CORS_ORIGINS => "http://allowed.test:$cors_port",
	});

# --- the files ---------------------------------------------------------------
my %types = (
	'/demo/'           => 'text/html; charset=utf-8',
	'/demo/index.html' => 'text/html; charset=utf-8',
	'/demo/parley.js'  => 'text/javascript; charset=utf-8',
	'/demo/app.js'     => 'text/javascript; charset=utf-8',
	'/demo/style.css'  => 'text/css; charset=utf-8');
for my $path (sort keys %types)
{
	my $r = $gw->req(GET => $path, undef, key => undef);
	is($r->{status}, 200, "GET $path: 200 without a key");
	is($r->{headers}{'content-type'}, $types{$path}, "... $types{$path}");
	is($r->{headers}{'cache-control'}, 'no-cache', '... revalidated on every load');
	is($r->{headers}{'x-content-type-options'}, 'nosniff', '... nosniff');
}
my $get  = $gw->req(GET  => '/demo/parley.js', undef, key => undef);
my $head = $gw->req(HEAD => '/demo/parley.js', undef, key => undef);
is($head->{status}, 200, 'HEAD /demo/parley.js: 200');
is($head->{headers}{'content-length'}, length($get->{body}), '... with the GET\'s Content-Length');
is($head->{body} // '', '', '... and no body');
like($gw->raw("GET /demo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
	qr{\AHTTP/1\.1 308 .*\r\nLocation: /demo/\r\n}s, '/demo redirects to /demo/ (308)');
is($gw->req(POST => '/demo/app.js', '{}', key => undef)->{status}, 405, 'POST to a file: 405');

# Nothing outside demo/ can be named: raw requests, so that no client
# normalises the path first.
for my $path ('/demo/../Makefile', '/demo/..%2fMakefile', '/demo/%2e%2e/Makefile',
	'/demo/../../../../etc/passwd', '/demo//etc/passwd', '/demo/.gitignore',
	'/demo/x/../app.js', '/demo/app.js%00.html', '/demo/README', '/demo/app.JS.bak')
{
	my $raw = $gw->raw("GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	like($raw, qr{\AHTTP/1\.1 404 }, "GET $path: 404");
}
# A symbolic link in the directory is not followed.
my $linkdir = "$PostgreSQL::Test::Utils::tmp_check/demo_links";
make_path($linkdir);
symlink('/etc/passwd', "$linkdir/passwd.html") or die "symlink: $!";
symlink("$src/demo/app.js", "$linkdir/app.js") or die "symlink: $!";
my $gw_links = ParleyTest->start(node => $node, key => $key, name => 'demo_links',
	env => { PARLEY_DEMO => 1, PARLEY_DEMO_DIR => $linkdir, PARLEY_JWT_SECRET => 'x' x 32 });
is($gw_links->req(GET => '/demo/passwd.html', undef, key => undef)->{status}, 404,
	'a symbolic link out of the directory: 404');
is($gw_links->req(GET => '/demo/app.js', undef, key => undef)->{status}, 404,
	'any symbolic link: 404');
$gw_links->stop;

# --- the browser ---------------------------------------------------------------
my $out = "$ENV{TESTDIR}/019_browser";
make_path($out);
my ($stdout, $stderr) = ('', '');
my @cmd = ('node', "$src/test/browser/chat.mjs");
my $ok = IPC::Run::run(\@cmd, '<', \undef, '>', \$stdout, '2>', \$stderr,
	init => sub {
		$ENV{PARLEY_URL} = $gw->{url};
		$ENV{PARLEY_KEY} = $key;
		$ENV{CORS_PORT}  = $cors_port;
		$ENV{OUT_DIR}    = $out;
		$ENV{CHROMIUM}   = $chromium;
		# Chromium's profile and crash files: somewhere the postgres user may write.
		$ENV{HOME}   = $out;
		$ENV{TMPDIR} = $out;
	},
	IPC::Run::timeout(600));
my $checks = 0;
for my $line (split /\n/, $stdout)
{
	if ($line =~ /^check\t(ok|not ok)\t(.*)$/)
	{
		ok($1 eq 'ok', "browser: $2");
		$checks++;
	}
	else
	{
		note($line);
	}
}
ok($ok, 'the browser script exited 0') or diag("stderr:\n$stderr");
cmp_ok($checks, '>=', 14, 'every check of the browser script ran');
ok(-s "$out/chat-alice.png", "a screenshot of the chat: $out/chat-alice.png");
unlike($gw->log_text, qr/eyJ[\w-]+\.eyJ/, 'no token in parleyd\'s log');

$gw->stop;
done_testing();

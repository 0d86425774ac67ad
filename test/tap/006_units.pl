
# The C unit tests of the pure request path (gateway/tests/test_pure.c) and
# of the live-event registry (gateway/tests/test_hub.c),
# built with the sanitizers when the suite runs against the sanitizer build.
use strict;
use warnings;

use IPC::Run;
use Test::More;

my $src = $ENV{PARLEY_SRC} or die 'PARLEY_SRC is not set';
my $san = ($ENV{PARLEYD} // '') =~ m{/san/parleyd$} ? 1 : 0;
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ 'make', '-s', '-C', "$src/gateway", 'check', "SANITIZE=$san", 'PG_CONFIG=' . ($ENV{PG_CONFIG} // 'pg_config') ],
	'>', \$out, '2>', \$err);
ok($ok, 'make -C gateway check') or diag("$out\n$err");
like($out, qr/^\d+ checks, 0 failures$/m, 'every unit check passes') or diag($out);
unlike("$out$err", qr/AddressSanitizer|runtime error:|LeakSanitizer/, 'no sanitizer report');
done_testing();

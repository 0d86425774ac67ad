
# One version (issue 20; gateway/version.h): extension/parley.control's
# default_version is what parleyd --version, its start-up line and
# OpenAPI's info.version say, what a fresh CREATE EXTENSION installs, and
# the version of parley_proxy and of the Debian packages (debian/changelog).
use strict;
use warnings;

use ParleyTest;
use Test::More;

sub control_version
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	my ($v) = map { /^default_version\s*=\s*'([^']*)'/ ? $1 : () } <$fh>;
	close($fh);
	return $v;
}

my $src     = $ENV{PARLEY_SRC};
my $version = control_version("$src/extension/parley.control");
like($version, qr/^\d+\.\d+\.\d+$/, "extension/parley.control: default_version $version");
is(control_version("$src/proxy/parley_proxy.control"), $version, 'proxy/parley_proxy.control: the same');

open(my $cl, '<', "$src/debian/changelog") or die "debian/changelog: $!";
my ($deb) = <$cl> =~ /^parley \(([^)]+)\)/;
close($cl);
is($deb, $version, 'debian/changelog: the packages are that version');

like(`$ENV{PARLEYD} --version`, qr/^parleyd \Q$version\E$/, 'parleyd --version');

my $node = ParleyTest::new_node('version');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'parley'"),
	$version, 'CREATE EXTENSION parley installs it (the installed control file is this tree\'s)');

my $gw = ParleyTest->start(node => $node, key => ParleyTest::create_key($node, 'version'));
like($gw->log_text, qr/parleyd \Q$version\E starting/, 'the start-up line');
my $r = $gw->req(GET => '/openapi.json', undef, key => undef);
is($r->{json}{info}{version}, $version, 'OpenAPI info.version');
$gw->stop;

done_testing();

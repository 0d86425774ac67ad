
# ParleyProxy: a PL/Proxy topology on one PostgreSQL node for the TAP suites
# (docs/scaling.md): databases shard0..shard{N-1} run the parley extension,
# database $db runs parley_proxy and routes 8 partitions (or 2 per shard,
# whichever is more) onto them.  Used by ParleyTest::new_node when
# PARLEY_TEST_SHARDS is set, so a suite written for one database runs
# unchanged against the proxy.
package ParleyProxy;

use strict;
use warnings;

use Carp;
use IPC::Run;

sub shard_names
{
	my ($n) = @_;
	return map { "shard$_" } 0 .. $n - 1;
}

# Partition count: a power of two, at least 8 and at least 2 per shard.
sub partition_count
{
	my ($n) = @_;
	my $p = 8;
	$p *= 2 while $p < 2 * $n;
	return $p;
}

sub setup
{
	my ($node, $db, $nshards) = @_;
	croak "PARLEY_TEST_SHARDS must be at least 1" unless $nshards >= 1;
	my @shards = shard_names($nshards);
	# The proxy reaches the shards as a role with only the grants of
	# proxy/shard-role.sql, as docs/scaling.md advises.
	$node->safe_psql('postgres', 'CREATE ROLE parley_shard LOGIN');
	for my $s (@shards)
	{
		$node->safe_psql('postgres', qq{CREATE DATABASE "$s"});
		ParleyTest::setup_database($node, $s);
		run_script($node, $s, 'parley_shard', 'proxy/shard-role.sql');
	}
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"}) unless $db eq 'postgres';

	my $parts = partition_count($nshards);
	my @opts;
	for my $p (0 .. $parts - 1)
	{
		my $shard = $shards[$p % $nshards];
		push @opts, sprintf("p%d 'host=%s port=%d dbname=%s'", $p, $node->host, $node->port, $shard);
	}
	$node->safe_psql($db, 'CREATE EXTENSION parley_proxy CASCADE');
	$node->safe_psql($db,
		'CREATE SERVER parley_shards FOREIGN DATA WRAPPER plproxy OPTIONS ('
		  . join(', ', @opts) . ')');
	$node->safe_psql($db,
		"CREATE USER MAPPING FOR PUBLIC SERVER parley_shards OPTIONS (user 'parley_shard')");
	# extension/gateway-role.sql names the API by signature: the proxy has
	# the same signatures, so the same grants apply.
	run_script($node, $db, 'parley_gateway', 'extension/gateway-role.sql');
	return;
}

# psql -v role=$role -f $script (a path in the source tree) in $db.
sub run_script
{
	my ($node, $db, $role, $script) = @_;
	my $src = $ENV{PARLEY_SRC} or croak 'PARLEY_SRC is not set';
	my ($stdout, $stderr);
	IPC::Run::run(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "role=$role",
			'-d', $node->connstr($db), '-f', "$src/$script"
		],
		'>', \$stdout, '2>', \$stderr)
	  or croak "$script in $db failed: $stderr";
	return;
}

# The shard database of the partition a routing hash (an SQL expression,
# e.g. "parley_proxy.conversation_hash('...')") selects, read from the
# cluster's partition map in $db as PL/Proxy reads it (hash & (P - 1)).
sub partition_db
{
	my ($node, $db, $nshards, $hash) = @_;
	my $mask = partition_count($nshards) - 1;
	my $shard = $node->safe_psql($db, sprintf(q{
		SELECT substring(o FROM 'dbname=(\S+)')
		  FROM pg_foreign_server s, unnest(s.srvoptions) o
		 WHERE s.srvname = 'parley_shards' AND o LIKE 'p' || (%s & %d) || '=%%'}, $hash, $mask));
	croak "no partition for $hash in cluster parley_shards" unless length $shard;
	return $shard;
}

# Conversations held by each shard, as { shardN => count }.
sub conversation_counts
{
	my ($node, $nshards) = @_;
	my %n;
	for my $s (shard_names($nshards))
	{
		$n{$s} = $node->safe_psql($s, 'SELECT count(*) FROM parley.conversations');
	}
	return \%n;
}

1;

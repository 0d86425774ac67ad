
# Scale-out with PL/Proxy (docs/scaling.md): a proxy database running
# parley_proxy in front of 4 shard databases (8 partitions), parleyd pointed
# at the proxy.  The gateway suites run unchanged against it: each one under
# PARLEY_TEST_SHARDS=4, where ParleyTest::new_node builds this topology and
# the suites' direct reads of tables go to the shards that hold the data
# (ParleyTest::data_dbs, conversation_psql, data_same and the like).
# Then this file checks what only a sharded setup can get wrong: data really
# spread, a direct pair found again whichever guest opens it, guests on every
# shard, rejected input stored nowhere, conversation lists merged across
# shards in order, statuses and error codes relayed, live events.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use ParleyProxy;
use ParleyTest;
use SSEClient;
use Test::More;

my $nshards = 4;

# --- the unchanged suites against the proxy ----------------------------------
# Not here: 005 (PgBouncer), 006 (C units), 010 and 011 (crash and backend
# kills of one database), 013 and 014 (connection floods and soak: the
# gateway's own limits), 021 and 022 (upgrade and backup of the parley
# extension).
my @suites = qw(001_api.pl 002_malformed.pl 003_keys_ops.pl 004_lifecycle.pl
  007_events.pl 008_events_direct.pl 009_pipeline.pl 012_ratelimit_keys.pl 017_contract.pl
  018_sessions.pl 020_friends.pl 025_guest_stream.pl 027_messages_v05.pl 028_search_settings.pl
  029_moderation.pl 032_data_rights.pl 026_presence.pl);
# PARLEY_PROXY_SUITES="025_guest_stream.pl ...": only those (while working on one).
@suites = split(' ', $ENV{PARLEY_PROXY_SUITES}) if $ENV{PARLEY_PROXY_SUITES};
# They run PARLEY_PROXY_JOBS (default 2) at a time, each its own process and
# cluster; the results are reported in the order above.
my $jobs = $ENV{PARLEY_PROXY_JOBS} || 2;
my $tapdir = dirname(abs_path(__FILE__));
# Their own tmp_check: data directories and logs apart from the suites' own
# run in this prove; one for all of them, so that they share its port locks.
my $testdir = "$PostgreSQL::Test::Utils::tmp_check/proxy_suites";
mkdir $testdir;
my @inc = map { "-I$_" } grep { !ref } @INC;
my (%pid, %status);
my @queue = @suites;
while (@queue || %pid)
{
	if (@queue && keys %pid < $jobs)
	{
		my $suite = shift @queue;
		my $pid = fork();
		die "fork: $!" unless defined $pid;
		if ($pid == 0)
		{
			$ENV{PARLEY_TEST_SHARDS} = $nshards;
			$ENV{TESTDIR} = $testdir;
			open(STDOUT, '>', "$testdir/$suite.out") or die "$testdir/$suite.out: $!";
			open(STDERR, '>&', \*STDOUT) or die "dup: $!";
			exec($^X, @inc, "$tapdir/$suite") or die "exec $suite: $!";
		}
		$pid{$pid} = $suite;
		next;
	}
	my $done = waitpid(-1, 0);
	last if $done < 0;
	$status{ delete $pid{$done} } = $? if exists $pid{$done};
}
for my $suite (@suites)
{
	my $out = '';
	if (open(my $fh, '<', "$testdir/$suite.out"))
	{
		local $/;
		$out = <$fh> // '';
		close($fh);
	}
	my @failed = grep { /^not ok/ } split /\n/, $out;
	my ($n) = $out =~ /^1\.\.(\d+)/m;
	ok(defined $status{$suite} && $status{$suite} == 0 && !@failed && $n,
		"$suite passes unchanged against parley_proxy over $nshards shards" . ($n ? " ($n tests)" : ''))
	  or diag($out);
}

# --- a topology of our own ---------------------------------------------------
my $node = do { local $ENV{PARLEY_TEST_SHARDS} = $nshards; ParleyTest::new_node('proxy') };
is($node->safe_psql('postgres', q{SELECT extname FROM pg_extension WHERE extname LIKE 'parley%'}),
	'parley_proxy', 'the proxy database has parley_proxy, not parley');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_foreign_server s, unnest(s.srvoptions) o
	   WHERE s.srvname = 'parley_shards' AND o LIKE 'p%=%'}),
	8, '8 partitions');
my $key = ParleyTest::create_key($node, 'proxy-test');
my $gw  = ParleyTest->start(node => $node, key => $key);

# One answer per shard, in shard order.
sub on_shards
{
	my ($sql) = @_;
	return ParleyTest::data_psql_all($node, $sql);
}

# Guests: on every shard; a rejected upsert stored nowhere.
my @guests = map { "g$_" } 1 .. 12;
my @created = grep { $gw->req(PUT => "/v1/guests/$_", { display_name => uc $_ })->{status} == 201 }
  ('alice', @guests);
is(scalar @created, 13, 'PUT of 13 new guests: 201 each');
is_deeply([ on_shards(q{SELECT count(*) FROM parley.guests}) ], [ (13) x $nshards ],
	'every shard holds every guest');
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 200,
	'PUT again: 200 updated (relayed from the shards)');
is_deeply([ on_shards(q{SELECT display_name FROM parley.guests WHERE guest_id = 'alice'}) ],
	[ ('Alice') x $nshards ], 'the update reached every shard');

my $r = $gw->req(PUT => '/v1/guests/mallory', { display_name => '   ' });
is($r->{status}, 400, 'blank display_name: 400');
is($r->{json}{code}, 'validation_failed', 'blank display_name: validation_failed');
is_deeply([ on_shards(q{SELECT count(*) FROM parley.guests WHERE guest_id = 'mallory'}) ],
	[ (0) x $nshards ], 'the rejected guest is on no shard');
is($gw->req(GET => '/v1/guests/mallory')->{json}{code}, 'guest_not_found', 'and GET says guest_not_found');

# Conversations: 40 groups and 12 direct ones, all with alice.
my %cid;
for my $i (1 .. 40)
{
	$r = $gw->req(POST => '/v1/conversations?as=alice',
		{ kind => 'group', participants => [ $guests[ $i % 12 ] ], title => "group $i" });
	is($r->{status}, 201, 'group create: 201') or diag($r->{body}) if $i == 1;
	$cid{"group $i"} = $r->{json}{id};
}
for my $g (@guests)
{
	$r = $gw->req(POST => '/v1/conversations?as=alice', { kind => 'direct', participants => [$g] });
	is($r->{status}, 201, 'direct create: 201') if $g eq 'g1';
	$cid{"direct $g"} = $r->{json}{id};
}
is(scalar(grep { defined } values %cid), 52, '52 conversations created');

my @counts = on_shards(q{SELECT count(*) FROM parley.conversations});
my $total = 0;
$total += $_ for @counts;
is($total, 52, 'each conversation is stored once') or diag("per shard: @counts");
ok(!(grep { $_ == 0 } @counts), 'every shard holds some conversations') or diag("per shard: @counts");
ok(!(grep { $_ == 52 } @counts), 'no shard holds them all') or diag("per shard: @counts");

# A conversation lives on the shard its id hashes to (hashtext, 8 partitions
# mapped p mod 4), messages and participants with it.
my ($gid) = $cid{'group 7'};
my $home = $node->safe_psql('postgres',
	"SELECT (hashtext('$gid') & 7) % $nshards");
is($node->safe_psql("shard$home", "SELECT count(*) FROM parley.conversations WHERE id = '$gid'"), 1,
	'group 7 is on the shard of hashtext(id)');

# The direct pair again, opened from the other side: same id, 200.
$r = $gw->req(POST => '/v1/conversations?as=g5', { kind => 'direct', participants => ['alice'] });
is($r->{status}, 200, 'the pair opened by the other guest: 200');
is($r->{json}{id}, $cid{'direct g5'}, 'the same conversation');
is(ParleyTest::data_sum($node, "SELECT count(*) FROM parley.conversations WHERE id = '$cid{'direct g5'}'"), 1,
	'the direct conversation exists on one shard only');

# Messages: statuses relayed (201, then 200 on a replay), errors with their codes.
$r = $gw->req(POST => "/v1/conversations/$gid/messages?as=alice", { body => 'hi', client_msg_id => 'm1' });
is($r->{status}, 201, 'post: 201');
is($r->{json}{seq}, 1, 'post: seq 1');
$r = $gw->req(POST => "/v1/conversations/$gid/messages?as=alice", { body => 'hi', client_msg_id => 'm1' });
is($r->{status}, 200, 'replay: 200 (last_status of the shard that ran it)');
$r = $gw->req(POST => "/v1/conversations/$gid/messages?as=alice", { body => 'other', client_msg_id => 'm1' });
is($r->{status}, 409, 'conflicting replay: 409');
is($r->{json}{code}, 'idempotency_conflict', 'idempotency_conflict, SQLSTATE relayed by PL/Proxy');
$r = $gw->req(GET => "/v1/conversations/$gid/messages?as=g1");
is($r->{json}{code}, 'not_a_participant', 'a non-participant: not_a_participant') or diag($r->{body});
$r = $gw->req(GET => '/v1/conversations/00000000-0000-7000-8000-000000000000?as=alice');
is($r->{status}, 404, 'unknown conversation: 404');
is($r->{json}{code}, 'conversation_not_found', 'conversation_not_found');
is($node->safe_psql("shard$home", "SELECT count(*) FROM parley.messages WHERE conversation_id = '$gid'"), 1,
	'one message stored after the replay and the conflict');

# Activity: a post in some conversations moves them to the top of the list.
for my $name ('direct g9', 'group 3', 'group 30')
{
	is($gw->req(POST => "/v1/conversations/$cid{$name}/messages?as=alice", { body => "in $name" })->{status},
		201, "post in $name");
}

# Conversation list: merged across shards, latest activity first, walked
# with a small page through the cursor without loss or duplicate.
my (@walk, $before, $pages);
do
{
	my $q = '/v1/guests/alice/conversations?limit=7' . (defined $before ? "&before=$before" : '');
	$r = $gw->req(GET => $q);
	is($r->{status}, 200, 'list page: 200') or last;
	push @walk, @{ $r->{json}{conversations} };
	$before = $r->{json}{next_before};
	$pages++;
	is(!!$r->{json}{has_more}, defined $before, 'has_more iff next_before') if $pages == 1;
} while (defined $before && $pages < 20);
is($pages, 8, '52 conversations in 8 pages of 7');
is(scalar @walk, 52, 'every conversation listed');
my %seen;
$seen{ $_->{id} }++ for @walk;
is(scalar keys %seen, 52, 'none listed twice');
is_deeply([ map { $_->{id} } @walk[ 0 .. 3 ] ], [ @cid{ 'group 30', 'group 3', 'direct g9', 'group 7' } ],
	'the four with messages first, latest message first');
my @rest = @walk[ 4 .. 51 ];
is_deeply([ map { $_->{id} } @rest ],
	[ map { $_->{id} } sort { $b->{created_at} cmp $a->{created_at} || $b->{id} cmp $a->{id} } @rest ],
	'the rest by creation, newest first');
is($walk[0]{unread}, 0, 'own messages are not unread');

# The proxy relays the shard's JSON as it is.
my $one = $gw->req(GET => "/v1/conversations/$gid?as=alice")->{json};
my $shard_json = $node->safe_psql("shard$home", "SELECT parley.conversation_get('$gid', 'alice')");
is_deeply($one, $ParleyTest::JSON->decode($shard_json),
	'conversation_get through the proxy equals the shard\'s own answer');

# A bad cursor is the shards' 400, and changes nothing.
$r = $gw->req(GET => '/v1/guests/alice/conversations?before=zz');
is($r->{status}, 400, 'bad cursor: 400');

# Live events reach a subscriber through the proxy (the gateway's LISTEN and
# NOTIFY run in the proxy database; events_fetch is routed to the shard).
my $s = SSEClient->open($gw->{port}, "/v1/conversations/$gid/events?as=alice&after=0", key => $key);
is($s->status, 200, 'events: 200');
ok($s->wait_until(sub { scalar($s->ids) >= 1 }, 10), 'events: the stored message is replayed');
$gw->req(POST => "/v1/conversations/$gid/messages?as=alice", { body => 'live' });
ok($s->wait_until(sub { scalar($s->ids) >= 2 }, 10), 'events: a new message arrives live');
is_deeply([ $s->ids ], [ 1, 2 ], 'events: in seq order, nothing twice');
$s->close;

# A shard that cannot be reached: 503 database_unavailable for the calls
# that need it (PL/Proxy's connection failure re-raised as 08006), the
# other shards keep serving, and it recovers when the shard is back.
my $part = $node->safe_psql('postgres', "SELECT hashtext('$gid') & 7");
my ($other) = grep {
	$node->safe_psql('postgres', "SELECT (hashtext('$_') & 7) % $nshards") != $home
} sort values %cid;
my $dead = PostgreSQL::Test::Cluster::get_free_port();
my $conninfo = sprintf('host=%s port=%d dbname=shard%d', $node->host, $node->port, $home);
$node->safe_psql('postgres',
	"ALTER SERVER parley_shards OPTIONS (SET p$part 'host=127.0.0.1 port=$dead dbname=shard$home')");
$r = $gw->req(GET => "/v1/conversations/$gid?as=alice");
is($r->{status}, 503, 'a shard down: 503') or diag($r->{body});
is($r->{json}{code}, 'database_unavailable', 'database_unavailable');
ok($r->{headers}{'retry-after'}, 'with Retry-After');
is($gw->req(GET => "/v1/conversations/$other?as=alice")->{status}, 200,
	'a conversation on another shard: still 200');
$node->safe_psql('postgres', "ALTER SERVER parley_shards OPTIONS (SET p$part '$conninfo')");
ok(ParleyTest::poll_until(sub { $gw->req(GET => "/v1/conversations/$gid?as=alice")->{status} == 200 }, 10),
	'the shard back: 200 again');

# Friends and blocks are on every shard: a block made through the proxy
# stops a direct conversation on whichever shard the pair hashes to.
$r = $gw->req(PUT => '/v1/guests/g1/friends/g2');
is($r->{status}, 201, 'friend request: 201');
is($r->{json}{status}, 'outgoing', 'friend request: outgoing');
$r = $gw->req(GET => '/v1/guests/g2/friends?status=incoming');
is_deeply([ map { $_->{guest_id} . '<-' . $_->{other_id} } @{ $r->{json}{friends} } ], ['g2<-g1'],
	"the request is in g2's incoming list");
my @rows = on_shards(q{SELECT count(*) FROM parley.friendships});
ok($rows[0] > 0 && !(grep { $_ != $rows[0] } @rows), 'every shard holds the request')
  or diag("rows per shard: @rows");
is($gw->req(PUT => '/v1/guests/g3/blocks/g4')->{status}, 200, 'block: 200');
@rows = on_shards(q{SELECT count(*) FROM parley.blocks});
ok($rows[0] > 0 && !(grep { $_ != $rows[0] } @rows), 'every shard holds the block')
  or diag("rows per shard: @rows");
$r = $gw->req(POST => '/v1/conversations?as=g4', { kind => 'direct', participants => ['g3'] });
is($r->{status}, 403, 'direct conversation across a block: 403');
is($r->{json}{code}, 'blocked', 'blocked');
is(ParleyTest::data_sum($node, q{SELECT count(*) FROM parley.conversations WHERE kind = 'direct'}), 12,
	'and no conversation was created');
is($gw->req(DELETE => '/v1/guests/g3/blocks/g4')->{status}, 204, 'unblock: 204');
is_deeply([ on_shards(q{SELECT count(*) FROM parley.blocks}) ], [ (0) x $nshards ],
	'the block is lifted on every shard');

$gw->stop;
done_testing();

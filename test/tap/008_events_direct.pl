
# Live events for posts made through the gateway that holds the streams
# (gateway/events/deliver.c): the stream gets the POST's own reply, byte for byte,
# without a database read; a replayed post is not sent twice; a stream that
# is behind still gets everything in order through a fetch; and the
# notification formats of this and older gateways ("m <cid> <seq>",
# "m <cid>") both lead to delivery; a stream replaying a long history does
# not hold back the others, and is paced by its reader.  The safety poll is
# slowed to 60 s so that only what is tested here can deliver; the write
# timeout is long, so that a client that does not read for a while stays.
use strict;
use warnings;

use ParleyTest;
use SSEClient;
use Test::More;

my $node = ParleyTest::new_node('events_direct');
my $key  = ParleyTest::create_key($node, 'events-direct');
my $gw   = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_EVENTS_POLL_MS => 60000, PARLEY_HTTP_TIMEOUT => 600, PARLEY_LOG_LEVEL => 'warn' });

for my $g (qw(alice bob))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => $g })->{status}, 201, "guest $g");
}
my $r = $gw->req(POST => '/v1/conversations?as=alice',
	{ kind => 'group', participants => ['bob'], title => 'direct' });
is($r->{status}, 201, 'group created');
my $cid    = $r->{json}{id};
my $events = "/v1/conversations/$cid/events";

sub post
{
	my ($body, %extra) = @_;
	my $res = $gw->req(POST => "/v1/conversations/$cid/messages?as=alice", { body => $body, %extra });
	die "post: $res->{status} $res->{body}" unless $res->{status} == 201 || $res->{status} == 200;
	return $res;
}

# A stream at the head: its first fetch (of nothing) has to end before the
# counters mean anything, so wait for one message first.
my $s = SSEClient->open($gw->{port}, "$events?as=bob", key => $key);
is($s->status, 200, 'stream open');
post('m1');
ok($s->wait_until(sub { $s->ids >= 1 }, 60), 'first message arrives');
my ($fetches0, $direct0) = ($gw->metric('parley_events_fetches_total'), $gw->metric('parley_events_direct_total'));

my @replies = map { post("m$_")->{body} } 2 .. 21;
ok($s->wait_until(sub { $s->ids >= 21 }, 60), 'twenty more posts arrive');
is_deeply([ $s->ids ], [ 1 .. 21 ], 'in seq order, each once');
my @data = map { $_->{data} } ($s->messages)[ 1 .. 20 ];
is_deeply(\@data, \@replies, 'each event is the bytes of its POST reply');
is($gw->metric('parley_events_direct_total') - $direct0, 20, 'all 20 sent from the replies');
is($gw->metric('parley_events_fetches_total') - $fetches0, 0, 'with no database read');

# A retry with the same client_msg_id answers 200 with the same message: not sent again.
my $first = post('once', client_msg_id => 'retry-1');
is($first->{status}, 201, 'post with client_msg_id: 201');
my $again = post('once', client_msg_id => 'retry-1');
is($again->{status}, 200, 'the retry: 200');
post('after-retry');
ok($s->wait_until(sub { $s->ids >= 23 }, 60), 'the posts around the retry arrive');
my @ids = $s->ids;
is_deeply([ @ids[ 21 .. $#ids ] ], [ 22, 23 ], 'the retried message was sent once');

# A stream that is behind: it must not get seq N before N-1.  Posts made
# straight in SQL are not notified (and the poll sleeps), so the next post
# through the gateway finds the stream three messages behind.
$node->safe_psql('postgres', "SELECT parley.message_post('$cid', 'alice', 'sql' || i) FROM generate_series(1, 3) i");
post('after-sql');
ok($s->wait_until(sub { $s->ids >= 27 }, 60), 'a stream behind catches up');
is_deeply([ ($s->ids)[ 23 .. 26 ] ], [ 24, 25, 26, 27 ], 'in order, with the SQL posts before');

# Notifications from outside this gateway: the format with a seq, and the
# older one without.
for my $payload ("m $cid 28", "m $cid")
{
	my $n = $s->ids;
	$node->safe_psql('postgres', "SELECT parley.message_post('$cid', 'alice', 'sql')");
	$node->safe_psql('postgres', "SELECT pg_notify('parley_events', '$payload')");
	ok($s->wait_until(sub { $s->ids > $n }, 60), "a notification '$payload' leads to delivery");
	is(($s->ids)[-1], $n + 1, '... of the next seq');
}
# A notification for a seq every stream already has reads nothing.
{
	my $before = $gw->metric('parley_events_fetches_total');
	$node->safe_psql('postgres', "SELECT pg_notify('parley_events', 'm $cid 5')");
	# A second notification behind it, which does fetch, orders the check.
	$node->safe_psql('postgres', "SELECT parley.message_post('$cid', 'alice', 'sql')");
	$node->safe_psql('postgres', "SELECT pg_notify('parley_events', 'm $cid 30')");
	ok($s->wait_until(sub { $s->ids >= 30 }, 60), 'the next notification delivers');
	is($gw->metric('parley_events_fetches_total') - $before, 1, 'the stale one read nothing');
}

$s->close;

# A stream resuming from far back does not hold back live delivery to the
# others (its replay is a page per fetch, next to the head's own entry), and
# its replay is paced by its reader: a client that does not read for a while
# is not sent 30,000 messages at the speed of the database and dropped as a
# slow consumer (the stall seen under load), its replay waits for it.  The
# replaying client here reads nothing until the stream at the head has the
# new message, so that message cannot have waited for the replay.
{
	my $n = 30000;
	my $r2 = $gw->req(POST => '/v1/conversations?as=alice',
		{ kind => 'group', participants => ['bob'], title => 'long history' });
	is($r2->{status}, 201, 'a second group');
	my $cid2 = $r2->{json}{id};
	ParleyTest::conversation_psql($node, $cid2, qq{
		INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body)
		SELECT '$cid2', s, gen_random_uuid(), 'alice', 'old message ' || s FROM generate_series(1, $n) s;
		UPDATE parley.conversations SET last_seq = $n WHERE id = '$cid2'});
	my $dropped0 = $gw->metric('parley_events_dropped_total');
	my $live   = SSEClient->open($gw->{port}, "/v1/conversations/$cid2/events?as=alice", key => $key);
	my $replay = SSEClient->open($gw->{port}, "/v1/conversations/$cid2/events?as=bob&after=0",
		key => $key);
	is($live->status, 200, 'a stream at the head');
	is($replay->status, 200, 'a stream replaying from 0');
	ParleyTest::conversation_psql($node, $cid2, "SELECT parley.message_post('$cid2', 'alice', 'new')");
	$node->safe_psql('postgres', "SELECT pg_notify('parley_events', 'm $cid2 @{[ $n + 1 ]}')");
	ok($live->wait_until(sub { grep { $_ == $n + 1 } $live->ids }, 60),
		'the stream at the head gets the new message while the replay waits for its reader');
	is_deeply([ $live->ids ], [ $n + 1 ], '... and only that one');
	ok($replay->wait_until(sub { $replay->ids >= $n + 1 }, 180), 'the replaying stream gets all of them');
	my @got = $replay->ids;
	is_deeply([ @got[ 0, 1, -2, -1 ] ], [ 1, 2, $n, $n + 1 ], '... from 1 to the new one');
	ok(!grep({ $got[$_] != $_ + 1 } 0 .. $#got), '... each once, in order');
	is($gw->metric('parley_events_dropped_total') - $dropped0, 0,
		'the replay was paced by its reader, not dropped as a slow consumer');
	$live->close;
	$replay->close;
}

$gw->stop;
$gw->check_log;
done_testing();

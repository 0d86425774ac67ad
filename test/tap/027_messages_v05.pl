# Messages 0.5.0 over HTTP (API.md section 9, part A): reactions (PUT, DELETE,
# the list of who), replies and threads, pages around a message,
# attachments, mark unread; message_reacted on the live stream (also for a
# reaction made in SQL); bad input answered 4xx with nothing changed.
use strict;
use warnings;

use ParleyTest;
use SSEClient;
use Test::More;

my $node = ParleyTest::new_node('messages_v05');
my $key  = ParleyTest::create_key($node, 'messages-v05-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

for my $g (qw(ann ben cat dan))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}
my $r = $gw->req(POST => '/v1/conversations?as=ann',
	{ kind => 'group', participants => [qw(ben cat)], title => 'v05' });
is($r->{status}, 201, 'group created');
my $cid  = $r->{json}{id};
my $msgs = "/v1/conversations/$cid/messages";

sub post
{
	my ($as, $body, %more) = @_;
	return $gw->req(POST => "$msgs?as=$as", { (defined $body ? (body => $body) : ()), %more });
}

# What a DBA sees of the conversation: every message's seq, reply_to,
# reply_count, reaction counts and attachments, and every reaction row.
sub rows
{
	return ParleyTest::conversation_psql($node, $cid, qq{
		SELECT coalesce(string_agg(seq || ':' || coalesce(reply_to::text, '-') || ':' || reply_count
		                           || ':' || reactions::text || ':' || jsonb_array_length(attachments), ' '
		                           ORDER BY seq), '-')
		       || ' | ' || (SELECT count(*) FROM parley.reactions WHERE conversation_id = '$cid')
		  FROM parley.messages WHERE conversation_id = '$cid'});
}

for my $i (1 .. 9)
{
	is(post('ann', "message $i")->{status}, 201, "post $i") if $i == 1 || $i == 9;
	post('ann', "message $i") if $i > 1 && $i < 9;
}

# --- the message JSON grows -----------------------------------------------------
$r = $gw->req(GET => "$msgs?as=ben&limit=1");
is($r->{status}, 200, 'GET messages');
my $m = $r->{json}{messages}[0];
is_deeply([ sort keys %$m ],
	[ sort qw(conversation_id seq id sender_id body metadata client_msg_id created_at edited_at deleted
		  reactions reply_to reply_count attachments) ], 'message shape');
is_deeply([ $m->{reactions}, $m->{reply_to}, $m->{reply_count}, $m->{attachments} ], [ {}, undef, 0, [] ],
	'reactions {}, reply_to null, reply_count 0, attachments []');

# --- replies and threads ----------------------------------------------------------
$r = post('ben', 'a reply', reply_to => 2);
is($r->{status}, 201, 'reply: 201') or diag($r->{body});
is($r->{json}{reply_to}, 2, '... reply_to 2');
my $reply = $r->{json}{seq};
post('cat', "reply $_", reply_to => 2) for 1 .. 3;
$r = $gw->req(GET => "$msgs?as=ben&after=1&limit=1");
is($r->{json}{messages}[0]{reply_count}, 4, 'the message replied to counts 4 replies');
$r = $gw->req(GET => "$msgs?as=ben&thread=2&limit=3");
is($r->{status}, 200, 'GET thread');
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} } ], [ 11, 12, 13 ], 'the newest 3 replies, ascending');
ok($r->{json}{has_more}, '... has_more');
$r = $gw->req(GET => "$msgs?as=ben&thread=2&before=11");
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} } ], [10], 'thread before=11');
ok(!$r->{json}{has_more}, '... no more');
$r = $gw->req(GET => "$msgs?as=ben&thread=2&after=10&limit=2");
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} } ], [ 11, 12 ], 'thread after=10');
is($gw->req(DELETE => "$msgs/$reply?as=ben")->{status}, 204, 'a reply deleted');
$r = $gw->req(GET => "$msgs?as=ben&after=1&limit=1");
is($r->{json}{messages}[0]{reply_count}, 4, 'deleted replies still count');

my $before = rows();
ParleyTest::problem(post('ben', 'x', reply_to => 99), 404, 'message_not_found', 'reply_to past the end: 404');
ParleyTest::problem($gw->req(POST => "$msgs?as=ben", '{"body": "x", "reply_to": 99999999999999999999999}'),
	404, 'message_not_found', 'reply_to past bigint: 404');
ParleyTest::problem(post('ben', 'x', reply_to => 0), 400, 'validation_failed', 'reply_to 0: 400');
ParleyTest::problem(post('ben', 'x', reply_to => '2'), 400, 'validation_failed', 'reply_to a string: 400');
ParleyTest::problem(post('ben', 'x', reply_to => 1.5), 400, 'validation_failed', 'reply_to 1.5: 400');
ParleyTest::problem(post('dan', 'x', reply_to => 2), 403, 'not_a_participant', 'reply by an outsider: 403');
ParleyTest::problem($gw->req(GET => "$msgs?as=ben&thread=99"), 404, 'message_not_found', 'thread past the end: 404');
ParleyTest::problem($gw->req(GET => "$msgs?as=ben&thread=x"), 400, 'validation_failed', 'thread not a number: 400');
is(rows(), $before, 'the refused posts changed nothing');

# --- around ------------------------------------------------------------------------
$r = $gw->req(GET => "$msgs?as=ben&around=5&limit=5");
is($r->{status}, 200, 'GET around');
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} } ], [ 3, 4, 5, 6, 7 ], 'S with 2 before and 2 after');
is_deeply([ sort keys %{ $r->{json} } ], [qw(has_more_after has_more_before messages)], 'around page shape');
ok($r->{json}{has_more_before} && $r->{json}{has_more_after}, 'more on both sides');
$r = $gw->req(GET => "$msgs?as=ben&around=1&limit=4");
is_deeply([ map { $_->{seq} } @{ $r->{json}{messages} } ], [ 1, 2, 3 ], 'around the first: 1 of 1 and 2 after');
ok(!$r->{json}{has_more_before} && $r->{json}{has_more_after}, '... nothing before');
ParleyTest::problem($gw->req(GET => "$msgs?as=ben&around=14"), 404, 'message_not_found', 'around past last_seq: 404');
ParleyTest::problem($gw->req(GET => "$msgs?as=ben&around=3&before=5"), 400, 'validation_failed', 'around with before: 400');
ParleyTest::problem($gw->req(GET => "$msgs?as=ben&around=0"), 400, 'validation_failed', 'around 0: 400');

# --- attachments ---------------------------------------------------------------------
my @files = ({ url => 'https://cdn.example/a.png', mime_type => 'image/png', size => 2048, width => 64, height => 48,
		name => 'a.png' }, { url => 'https://cdn.example/v.mp4', mime_type => 'video/mp4', size => 0, duration_ms => 1500 });
$r = post('cat', undef, attachments => \@files);
is($r->{status}, 201, 'attachments without a body: 201') or diag($r->{body});
is($r->{json}{body}, '', '... body ""');
is_deeply($r->{json}{attachments}, \@files, '... the attachments as sent');
$r = post('cat', '', attachments => [ $files[0] ]);
is($r->{status}, 201, 'attachments with an empty body: 201');
my $with_file = $r->{json}{seq};
$before = rows();
ParleyTest::problem(post('cat', '', attachments => []), 400, 'validation_failed', 'empty body, no attachments: 400');
ParleyTest::problem(post('cat', 'x', attachments => [ { %{ $files[0] }, alt => 'x' } ]), 400, 'validation_failed',
	'unknown attachment field: 400');
ParleyTest::problem(post('cat', 'x', attachments => [ { %{ $files[0] }, url => 'http://cdn.example/a' } ]), 400,
	'validation_failed', 'http url: 400');
ParleyTest::problem(post('cat', 'x', attachments => [ ($files[0]) x 11 ]), 400, 'validation_failed', '11 attachments: 400');
ParleyTest::problem(post('cat', 'x', attachments => [ { %{ $files[0] }, width => 0 } ]), 400, 'validation_failed', 'width 0: 400');
ParleyTest::problem(post('cat', 'x', attachments => { url => 'https://x' }), 400, 'validation_failed', 'not an array: 400');
is(rows(), $before, 'the refused posts changed nothing');
is($gw->req(DELETE => "$msgs/$with_file?as=cat")->{status}, 204, 'a message with a file deleted');
$r = $gw->req(GET => "$msgs?as=cat&after=" . ($with_file - 1) . "&limit=1");
is_deeply($r->{json}{messages}[0]{attachments}, [], 'a tombstone has no attachments');

# --- reactions ------------------------------------------------------------------------
my $stream = SSEClient->open($gw->{port}, "/v1/conversations/$cid/events?as=ann", key => $key);
is($stream->status, 200, 'ann streams');
my $thumbs = "\x{1F44D}";
my $thumbs_path = '%F0%9F%91%8D';
$r = $gw->req(PUT => "$msgs/3/reactions/$thumbs_path?as=ben");
is($r->{status}, 201, 'PUT reaction (emoji): 201') or diag($r->{body});
is_deeply($r->{json}{reactions}, { $thumbs => 1 }, '... answers the message with its counts');
is($r->{json}{seq}, 3, '... message 3');
$r = $gw->req(PUT => "$msgs/3/reactions/$thumbs_path?as=ben");
is($r->{status}, 200, 'the same again: 200');
is_deeply($r->{json}{reactions}, { $thumbs => 1 }, '... counted once');
is($gw->req(PUT => "$msgs/3/reactions/%2B1?as=cat")->{status}, 201, 'PUT reaction +1');
is($gw->req(PUT => "$msgs/3/reactions/$thumbs_path?as=cat")->{status}, 201, 'another guest, same key');
$r = $gw->req(GET => "$msgs?as=ann&after=2&limit=1");
is_deeply($r->{json}{messages}[0]{reactions}, { $thumbs => 2, '+1' => 1 }, 'the page shows the counts');

ok($stream->wait_until(sub { grep { ($_->{event} // '') eq 'message_reacted' } $stream->events }, 30),
	'message_reacted on the stream');
my ($ev) = grep { ($_->{event} // '') eq 'message_reacted' } $stream->events;
ok(!defined $ev->{id}, '... with no id: line');
like($ev->{data} // '', qr/"seq": 3,/, '... the message JSON of seq 3');
like($ev->{data} // '', qr/"reactions": \{/, '... with its reactions');

$r = $gw->req(GET => "$msgs/3/reactions?as=ann");
is($r->{status}, 200, 'GET reactions');
is_deeply([ sort keys %{ $r->{json} } ], [qw(has_more next_before reactions)], 'list shape');
is(scalar @{ $r->{json}{reactions} }, 3, '3 reactions');
is_deeply([ sort keys %{ $r->{json}{reactions}[0] } ], [qw(created_at guest_id key)], 'reaction shape');
$r = $gw->req(GET => "$msgs/3/reactions?as=ann&key=$thumbs_path");
is_deeply([ sort map { $_->{guest_id} } @{ $r->{json}{reactions} } ], [qw(ben cat)], 'by key: who');
$r = $gw->req(GET => "$msgs/3/reactions?as=ann&limit=2");
ok($r->{json}{has_more}, 'limit=2: has_more');
my $next = $r->{json}{next_before};
$r = $gw->req(GET => "$msgs/3/reactions?as=ann&limit=2&before=$next");
is(scalar @{ $r->{json}{reactions} }, 1, 'the next page: the last one');
ok(!$r->{json}{has_more} && !defined $r->{json}{next_before}, '... and no more');

is($gw->req(DELETE => "$msgs/3/reactions/%2B1?as=cat")->{status}, 204, 'DELETE reaction: 204');
$before = rows();
ParleyTest::problem($gw->req(DELETE => "$msgs/3/reactions/%2B1?as=cat"), 404, 'reaction_not_found', 'DELETE again: 404');
ParleyTest::problem($gw->req(PUT => "$msgs/3/reactions/Nope?as=cat"), 400, 'validation_failed', 'key with capitals: 400');
ParleyTest::problem($gw->req(PUT => "$msgs/3/reactions/" . ('x' x 33) . "?as=cat"), 400, 'validation_failed', 'key of 33 bytes: 400');
ParleyTest::problem($gw->req(PUT => "$msgs/3/reactions/a%20b?as=cat"), 400, 'validation_failed', 'key with a space: 400');
ParleyTest::problem($gw->req(PUT => "$msgs/99/reactions/ok?as=cat"), 404, 'message_not_found', 'unknown message: 404');
ParleyTest::problem($gw->req(PUT => "$msgs/3/reactions/ok?as=dan"), 403, 'not_a_participant', 'outsider: 403');
ParleyTest::problem($gw->req(PUT => "$msgs/3/reactions/ok?as=cat", { x => 1 }), 400, 'validation_failed', 'a body: 400');
ParleyTest::problem($gw->req(PUT => "$msgs/$reply/reactions/ok?as=cat"), 409, 'message_deleted', 'on a tombstone: 409');
ParleyTest::problem($gw->req(GET => "$msgs/3/reactions?as=ann&before=zz"), 400, 'validation_failed', 'bad cursor: 400');
is(rows(), $before, 'the refused calls changed nothing');

for my $i (1 .. 20)
{
	my $s = $gw->req(PUT => "$msgs/4/reactions/k$i?as=ben")->{status};
	is($s, 201, '20 distinct keys: 201 each') if $i == 20;
}
$before = rows();
ParleyTest::problem($gw->req(PUT => "$msgs/4/reactions/k21?as=ben"), 409, 'too_many_reactions', 'a 21st key: 409');
is(rows(), $before, '... changed nothing');

# A reaction made in SQL reaches the open stream (the safety poll), once.
my $n_before = grep { ($_->{event} // '') eq 'message_reacted' && ($_->{data} // '') =~ /"seq": 5,/ } $stream->events;
is($n_before, 0, 'no reaction to 5 streamed yet');
$node->safe_psql('postgres', "SELECT parley.reaction_add('$cid', 5, 'ann', 'from_sql')");
ok($stream->wait_until(sub { grep { ($_->{event} // '') eq 'message_reacted' && ($_->{data} // '') =~ /"seq": 5,/ } $stream->events }, 60),
	'a reaction made in SQL arrives as message_reacted');

# An edit stays message_edited.
is($gw->req(PATCH => "$msgs/3?as=ann", { body => 'three, edited' })->{status}, 200, 'edit');
ok($stream->wait_until(sub { grep { ($_->{event} // '') eq 'message_edited' } $stream->events }, 30),
	'an edit is message_edited');
my ($ed) = grep { ($_->{event} // '') eq 'message_edited' } $stream->events;
like($ed->{data}, qr/"body": "three, edited"/, '... with the new body');
$stream->close;

# --- mark unread ----------------------------------------------------------------------
$r = $gw->req(POST => "/v1/conversations/$cid/unread?as=ann", { seq => 5 });
is($r->{status}, 200, 'POST unread: 200') or diag($r->{body});
is_deeply($r->{json}, { conversation_id => $cid, guest_id => 'ann', last_read_seq => 4 }, '... marker at 4');
$r = $gw->req(GET => '/v1/guests/ann/conversations');
my ($c) = grep { $_->{id} eq $cid } @{ $r->{json}{conversations} };
my $last = $c->{last_seq};
is($c->{unread}, $last - 4, 'unread counts from 5 on');
$r = $gw->req(POST => "/v1/conversations/$cid/unread?as=ann", '{"seq": 99999999999999999999}');
is($r->{json}{last_read_seq}, $last, 'a seq past bigint is clamped to last_seq');
$r = $gw->req(POST => "/v1/conversations/$cid/unread?as=ann", { seq => 1 });
is($r->{json}{last_read_seq}, 0, 'seq 1: all unread');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/unread?as=ann", { seq => 0 }), 400, 'validation_failed', 'seq 0: 400');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/unread?as=ann", {}), 400, 'validation_failed', 'no seq: 400');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$cid/unread?as=dan", { seq => 1 }), 403, 'not_a_participant', 'outsider: 403');
is(ParleyTest::conversation_psql($node, $cid,
	"SELECT last_read_seq FROM parley.participants WHERE conversation_id = '$cid' AND guest_id = 'ann'"),
	0, 'the refused marks changed nothing');

$gw->stop;
done_testing();

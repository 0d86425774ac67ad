# Search and per-guest conversation settings over HTTP (API.md section 9):
# GET .../messages/search in a conversation and across a guest's
# conversations (every word, case and accents ignored, word prefixes,
# newest first, opaque cursor, tombstones never, edits by their new text),
# PATCH .../settings and conversation_list's archived filter; bad input
# answered 4xx with nothing changed.  030_proxy runs it against the proxy,
# where the guest's search runs on every shard and is merged.
use strict;
use warnings;
use utf8;

use JSON::PP ();
use ParleyTest;
use Test::More;

my $node = ParleyTest::new_node('search');
my $key  = ParleyTest::create_key($node, 'search-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

# Percent-encode a query value (UTF-8).
sub q_enc
{
	my ($s) = @_;
	utf8::encode($s);
	$s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

sub seqs { return join ',', map { $_->{seq} } @{ $_[0]{json}{messages} // [] }; }

for my $g (qw(ann ben cat out))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}
my %cid;
for ([ g => 'ann', 'ben' ], [ h => 'ben', 'cat' ], [ k => 'ann', 'cat' ])
{
	my ($name, $owner, $other) = @$_;
	my $r = $gw->req(POST => "/v1/conversations?as=$owner", { kind => 'group', participants => [$other], title => $name });
	is($r->{status}, 201, "conversation $name") or diag($r->{body});
	$cid{$name} = $r->{json}{id};
}

sub post
{
	my ($c, $as, $body) = @_;
	my $r = $gw->req(POST => "/v1/conversations/$cid{$c}/messages?as=$as", { body => $body });
	is($r->{status}, 201, "post in $c: $body") or diag($r->{body});
	return $r->{json}{seq};
}

post('g', 'ann', 'Meet me at the Café Noir');
post('g', 'ben', 'CAFE NOIR? Ça va, à demain');
post('g', 'ann', 'Die Straße ist naß');
post('h', 'ben', 'cafe in h, where ann is not');
post('k', 'cat', 'un café dans k');

# --- search in a conversation --------------------------------------------------
my $path = "/v1/conversations/$cid{g}/messages/search";
my $r = $gw->req(GET => "$path?as=ann&q=" . q_enc('café'));
is($r->{status}, 200, 'search: 200') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(has_more messages next_before)], 'search page shape');
is(seqs($r), '2,1', 'both spellings of café, newest first');
ok(!$r->{json}{has_more} && !defined $r->{json}{next_before}, 'one page: has_more false, next_before null');
my $listed = $gw->req(GET => "/v1/conversations/$cid{g}/messages?as=ann")->{json}{messages}[1];
is_deeply($r->{json}{messages}[0], $listed, 'a found message is the message JSON of message_list');

my %cases = (
	'CAFE noir'  => '2,1',
	'caf'        => '2,1',
	'noir caf'   => '2,1',
	'afe'        => '',
	'ca va'      => '2',
	'strasse'    => '3',
	'cafe bistro' => '',
	'  cafe!!'   => '2,1',
);
for my $q (sort keys %cases)
{
	$r = $gw->req(GET => "$path?as=ann&q=" . q_enc($q));
	is(seqs($r), $cases{$q}, "q '$q' finds [$cases{$q}]") or diag($r->{body});
}

# pages
post('g', 'ben', "page word $_") for 1 .. 5;
my (@walked, $cursor, $pages);
do
{
	$r = $gw->req(GET => "$path?as=ben&q=page&limit=2" . (defined $cursor ? '&before=' . q_enc($cursor) : ''));
	is($r->{status}, 200, 'search page ' . ++$pages) or diag($r->{body});
	push @walked, map { $_->{seq} } @{ $r->{json}{messages} };
	$cursor = $r->{json}{next_before};
	is(!!$r->{json}{has_more}, defined $cursor, 'has_more iff next_before');
} while (defined $cursor && $pages < 10);
is(join(',', @walked), '8,7,6,5,4', 'pages walk every match once, newest first');

# edits and tombstones
is($gw->req(PATCH => "/v1/conversations/$cid{g}/messages/4?as=ben", { body => 'renamed entirely' })->{status}, 200, 'edit');
is(seqs($gw->req(GET => "$path?as=ann&q=page")), '8,7,6,5', 'an edit is not found by its old text');
is(seqs($gw->req(GET => "$path?as=ann&q=renamed")), '4', '... but by its new text');
is($gw->req(DELETE => "/v1/conversations/$cid{g}/messages/2?as=ben")->{status}, 204, 'delete');
is(seqs($gw->req(GET => "$path?as=ann&q=noir")), '1', 'a tombstone never matches');

# --- across a guest's conversations ----------------------------------------------
$r = $gw->req(GET => '/v1/guests/ann/messages/search?q=cafe');
is($r->{status}, 200, 'guest search: 200') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(has_more messages next_before)], 'guest search page shape');
is(join(',', map { ($_->{conversation_id} eq $cid{k} ? 'k' : $_->{conversation_id} eq $cid{g} ? 'g' : 'h') . ":$_->{seq}" }
		@{ $r->{json}{messages} }),
	'k:1,g:1', 'ann finds her conversations\' messages only, newest first');
is($gw->req(GET => '/v1/guests/ann/messages/search?q=cafe&as=ann')->{status}, 200, 'as = the guest: 200');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/messages/search?q=cafe&as=ben'), 403, 'forbidden', 'as another guest: 403');
ParleyTest::problem($gw->req(GET => '/v1/guests/nobody/messages/search?q=cafe'), 404, 'guest_not_found', 'unknown guest: 404');
$r = $gw->req(GET => '/v1/guests/out/messages/search?q=cafe');
is_deeply([ $r->{status}, scalar @{ $r->{json}{messages} }, $r->{json}{has_more} ? 1 : 0 ], [ 200, 0, 0 ],
	'a guest in no conversation: an empty page');

# across conversations (on several shards behind a proxy), page by page
post('k', 'ann', 'page word in k');
post('h', 'cat', 'page word in h');
my @all;
undef $cursor;
$pages = 0;
do
{
	$r = $gw->req(GET => '/v1/guests/ann/messages/search?q=page+word&limit=1' . (defined $cursor ? '&before=' . q_enc($cursor) : ''));
	is($r->{status}, 200, 'guest search page ' . ++$pages) or diag($r->{body});
	push @all, map { "$_->{conversation_id}:$_->{seq}" } @{ $r->{json}{messages} };
	$cursor = $r->{json}{next_before};
} while (defined $cursor && $pages < 20);
is(join(' ', @all), join(' ', "$cid{k}:2", map { "$cid{g}:$_" } 8, 7, 6, 5),
	'limit 1 pages walk ann\'s matches once each, newest first, and not cat\'s');

# --- rejected search input ------------------------------------------------------
for ([ '', 'no q' ], [ 'q=', 'empty q' ], [ 'q=' . q_enc('!!! ...'), 'q without a word' ],
	[ 'q=' . ('a' x 201), 'q of 201 characters' ], [ 'q=cafe&limit=0', 'limit 0' ],
	[ 'q=cafe&limit=201', 'limit 201' ], [ 'q=cafe&before=zz', 'a cursor that is not one' ])
{
	my ($qs, $name) = @$_;
	ParleyTest::problem($gw->req(GET => "$path?as=ann&$qs"), 400, 'validation_failed', "search, $name: 400");
}
is($gw->req(GET => "$path?as=ann&q=" . q_enc('é' x 200))->{status}, 200, 'q of 200 characters: 200');
ParleyTest::problem($gw->req(GET => "$path?q=cafe"), 400, 'validation_failed', 'search without as: 400');
ParleyTest::problem($gw->req(GET => "/v1/conversations/$cid{h}/messages/search?as=ann&q=cafe"), 403, 'not_a_participant',
	'search where one takes no part: 403');
ParleyTest::problem($gw->req(GET => '/v1/conversations/01890000-0000-7000-8000-000000000000/messages/search?as=ann&q=cafe'),
	404, 'conversation_not_found', 'search of an unknown conversation: 404');
ParleyTest::problem($gw->req(GET => '/v1/conversations/not-a-uuid/messages/search?as=ann&q=cafe'), 400, 'validation_failed',
	'search with a malformed id: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/messages/search?q=%3F%3F'), 400, 'validation_failed', 'guest search without a word: 400');

# --- per-guest settings -----------------------------------------------------------
sub list
{
	my ($g, $qs) = @_;
	my $r = $gw->req(GET => "/v1/guests/$g/conversations" . ($qs // ''));
	is($r->{status}, 200, "list of $g" . ($qs // '')) or diag($r->{body});
	return $r->{json}{conversations};
}
sub titles { return join ',', map { $_->{title} } @{ $_[0] }; }
sub state_of
{
	my ($g) = @_;
	return join ' ', map { join '/', $_->{title}, $_->{notifications_off_until} // '-', $_->{archived} ? 'A' : 'a',
		$_->{pinned} ? 'P' : 'p' } sort { $a->{title} cmp $b->{title} } @{ list($g) };
}

my $ann_list = list('ann');
is(titles($ann_list), 'k,g', 'ann\'s list, latest activity first');
for my $c (@$ann_list)
{
	ok(exists $c->{$_}, "list entry has $_") for qw(notifications_off_until archived pinned unread);
}
is(state_of('ann'), 'g/-/a/p k/-/a/p', 'settings default to on, not archived, not pinned');

my $spath = "/v1/conversations/$cid{g}/settings?as=ann";
$r = $gw->req(PATCH => $spath, { archived => JSON::PP::true, pinned => JSON::PP::true,
		notifications_off_until => '2031-05-06T07:08:09+02:00' });
is($r->{status}, 200, 'PATCH settings: 200') or diag($r->{body});
my ($entry) = grep { $_->{id} eq $cid{g} } @{ list('ann') };
is_deeply($r->{json}, $entry, 'the answer is the conversation as in ann\'s list');
is_deeply([ @{ $r->{json} }{qw(notifications_off_until archived pinned)} ],
	[ '2031-05-06T05:08:09+00:00', JSON::PP::true, JSON::PP::true ], 'settings stored');
is(state_of('ben'), 'g/-/a/p h/-/a/p', 'ben\'s settings of the same conversation are his own');

is(titles(list('ann', '?archived=true')), 'g', 'archived=true: only the archived');
is(titles(list('ann', '?archived=false')), 'k', 'archived=false: only the others');
is(titles(list('ann')), 'k,g', 'no archived: all, pinning does not change the order');

$r = $gw->req(PATCH => $spath, { notifications_off_until => undef, pinned => JSON::PP::false });
is($r->{status}, 200, 'PATCH with null and false') or diag($r->{body});
is(state_of('ann'), 'g/-/A/p k/-/a/p', 'null turns notifications on, absent archived stays');
is($gw->req(PATCH => $spath, {})->{status}, 200, 'an empty body: 200, nothing to change');

# rejected settings change nothing
my $before = state_of('ann');
for ([ { archived => 'yes' }, 'archived a string' ], [ { pinned => 1 }, 'pinned a number' ],
	[ { archived => undef }, 'archived null' ], [ { notifications_off_until => 'tomorrow' }, 'a word for a time' ],
	[ { notifications_off_until => '2031-05-06T07:08:09' }, 'a time without a zone' ],
	[ { notifications_off_until => JSON::PP::true }, 'a boolean for a time' ],
	[ { archived => JSON::PP::true, pinned => 'x' }, 'one good and one bad field' ])
{
	my ($body, $name) = @$_;
	ParleyTest::problem($gw->req(PATCH => $spath, $body), 400, 'validation_failed', "settings, $name: 400");
}
ParleyTest::problem($gw->req(PATCH => $spath, '{"archived": tru', content_type => 'application/json'), 400, 'invalid_json',
	'settings, malformed JSON: 400');
ParleyTest::problem($gw->req(PATCH => $spath, 'archived=true', content_type => 'text/plain'), 415, 'unsupported_media_type',
	'settings, not JSON: 415');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$cid{h}/settings?as=ann", { archived => JSON::PP::true }),
	403, 'not_a_participant', 'settings where one takes no part: 403');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$cid{g}/settings", { archived => JSON::PP::true }),
	400, 'validation_failed', 'settings without as: 400');
ParleyTest::problem(
	$gw->req(PATCH => '/v1/conversations/01890000-0000-7000-8000-000000000000/settings?as=ann', { archived => JSON::PP::true }),
	404, 'conversation_not_found', 'settings of an unknown conversation: 404');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/conversations?archived=yes'), 400, 'validation_failed', 'archived=yes: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/conversations?archived='), 400, 'validation_failed', 'archived empty: 400');
is(state_of('ann'), $before, 'the rejected requests changed nothing');

$gw->stop;
done_testing();

# Friends over HTTP (API.md section 5): PUT/DELETE friends and blocks, the
# list with its cursor, the block's effect on direct conversations, and bad
# input answered 4xx with nothing changed.
use strict;
use warnings;

use ParleyTest;
use Test::More;

my $node = ParleyTest::new_node('friends');
my $key  = ParleyTest::create_key($node, 'friends-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

my $ts_re = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

# Every friendship and block row, as the DBA sees them (against a proxy:
# on every shard, the same).
sub rows
{
	return ParleyTest::data_same($node, q{
		SELECT coalesce(string_agg(guest_id || '>' || other_id || ':' || status, ' '
		                ORDER BY guest_id, other_id), '-') FROM parley.friendships})
	  . ' | '
	  . ParleyTest::data_same($node, q{
		SELECT coalesce(string_agg(guest_id || '>' || other_id || ':' || direction, ' '
		                ORDER BY guest_id, other_id, direction), '-') FROM parley.blocks});
}

sub ids { return join ' ', map { $_->{other_id} } @{ $_[0]{json}{friends} // [] }; }

for my $g (qw(ann ben cat dan))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}

# --- requests ------------------------------------------------------------------
my $r = $gw->req(PUT => '/v1/guests/ann/friends/ben');
is($r->{status}, 201, 'PUT friend: 201 for a new request') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(guest_id other_id since status)], 'friendship shape');
is_deeply([ @{ $r->{json} }{qw(guest_id other_id status)} ], [qw(ann ben outgoing)], 'outgoing, from ann\'s side');
like($r->{json}{since}, $ts_re, 'since is RFC 3339');
my $since = $r->{json}{since};

$r = $gw->req(PUT => '/v1/guests/ann/friends/ben');
is($r->{status}, 200, 'repeated request: 200');
is($r->{json}{status}, 'outgoing', '... still outgoing');
is($r->{json}{since}, $since, '... since unchanged');

$r = $gw->req(GET => '/v1/guests/ben/friends?status=incoming');
is($r->{status}, 200, 'GET friends incoming');
is(ids($r), 'ann', 'ben sees ann\'s request');

$r = $gw->req(PUT => '/v1/guests/ben/friends/ann');
is($r->{status}, 200, 'asking back: 200');
is($r->{json}{status}, 'accepted', '... accepted');
isnt($r->{json}{since}, $since, '... since is the acceptance');
$r = $gw->req(PUT => '/v1/guests/ann/friends/ben');
is_deeply([ $r->{status}, $r->{json}{status} ], [ 200, 'accepted' ], 'already friends: 200 accepted');

$r = $gw->req(GET => '/v1/guests/ann/friends');
is($r->{status}, 200, 'GET friends, status defaults to accepted');
is_deeply([ sort keys %{ $r->{json} } ], [qw(friends has_more next_before)], 'list shape');
is(ids($r), 'ben', 'ann\'s friends');
ok(!$r->{json}{has_more}, 'no more');
ok(!defined $r->{json}{next_before}, 'next_before null');

# --- bad input: 4xx, nothing changed --------------------------------------------
my $before = rows();
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/ann'), 400, 'validation_failed', 'request to oneself: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/blocks/ann'), 400, 'validation_failed', 'blocking oneself: 400');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/nobody'), 404, 'guest_not_found', 'unknown other: 404');
ParleyTest::problem($gw->req(PUT => '/v1/guests/nobody/friends/ann'), 404, 'guest_not_found', 'unknown guest: 404');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/b%20n'), 400, 'validation_failed', 'malformed id: 400');
ParleyTest::problem($gw->req(DELETE => '/v1/guests/ann/friends/cat'), 404, 'friendship_not_found', 'DELETE of no friendship: 404');
ParleyTest::problem($gw->req(DELETE => '/v1/guests/ann/blocks/cat'), 404, 'block_not_found', 'DELETE of no block: 404');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/friends?status=blocked'), 400, 'validation_failed', 'unknown status: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/friends?status='), 400, 'validation_failed', 'empty status: 400, not the default');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/cat', 'x' x 70000, content_type => 'text/plain'),
	413, 'payload_too_large', 'PUT with a 70 KB text/plain body: 413, not served');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/cat', {}), 400, 'validation_failed', 'PUT with a JSON body: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/friends?limit=0'), 400, 'validation_failed', 'limit 0: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/friends?limit=x'), 400, 'validation_failed', 'limit not a number: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/ann/friends?before=nonsense'), 400, 'validation_failed', 'bad cursor: 400');
ParleyTest::problem($gw->req(GET => '/v1/guests/nobody/friends'), 404, 'guest_not_found', 'list of an unknown guest: 404');
is($gw->req(PUT => '/v1/guests/ann/friends/cat', undef, key => undef)->{status}, 401, 'no key: 401');
is($gw->req(POST => '/v1/guests/ann/friends/cat', {})->{status}, 405, 'POST: 405');
is(rows(), $before, 'the rejected requests changed nothing');

# --- remove: decline, cancel, unfriend ----------------------------------------------
is($gw->req(PUT => '/v1/guests/cat/friends/ann')->{status}, 201, 'cat asks ann');
is($gw->req(PUT => '/v1/guests/ann/friends/dan')->{status}, 201, 'ann asks dan');
$r = $gw->req(DELETE => '/v1/guests/ann/friends/cat');
is($r->{status}, 204, 'decline: 204');
is($r->{body} // '', '', '... no body');
is($gw->req(DELETE => '/v1/guests/ann/friends/dan')->{status}, 204, 'cancel: 204');
is($gw->req(DELETE => '/v1/guests/ben/friends/ann')->{status}, 204, 'unfriend: 204');
is(rows(), '- | -', 'no friendship rows left');
ParleyTest::problem($gw->req(DELETE => '/v1/guests/ben/friends/ann'), 404, 'friendship_not_found', 'unfriend twice: 404');

# --- blocks ------------------------------------------------------------------------
is($gw->req(PUT => '/v1/guests/ann/friends/ben')->{status}, 201, 'ann asks ben again');
is($gw->req(PUT => '/v1/guests/ben/friends/ann')->{json}{status}, 'accepted', 'friends again');
$r = $gw->req(POST => '/v1/conversations?as=ann', { kind => 'direct', participants => ['ben'] });
is($r->{status}, 201, 'direct conversation');
my $did = $r->{json}{id};
$r = $gw->req(POST => '/v1/conversations?as=ann', { kind => 'group', participants => [qw(ben cat)] });
my $gid = $r->{json}{id};
is($gw->req(POST => "/v1/conversations/$did/messages?as=ann", { body => 'hello' })->{status}, 201, 'post before the block');

$r = $gw->req(PUT => '/v1/guests/ben/blocks/ann');
is($r->{status}, 200, 'PUT block: 200') or diag($r->{body});
is_deeply([ @{ $r->{json} }{qw(guest_id other_id status)} ], [qw(ben ann blocked)], 'block answer');
is(ids($gw->req(GET => '/v1/guests/ann/friends')), '', 'the block ended the friendship');

my $seq_before = ParleyTest::conversation_psql($node, $did, "SELECT last_seq FROM parley.conversations WHERE id = '$did'");
ParleyTest::problem($gw->req(POST => "/v1/conversations/$did/messages?as=ann", { body => 'hi' }), 403, 'blocked', 'blocked guest cannot post in the direct conversation');
ParleyTest::problem($gw->req(POST => "/v1/conversations/$did/messages?as=ben", { body => 'hi' }), 403, 'blocked', 'nor can the blocker');
ParleyTest::problem($gw->req(POST => '/v1/conversations?as=ann', { kind => 'direct', participants => ['ben'] }), 403, 'blocked', 'opening the direct conversation: 403');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ann/friends/ben'), 403, 'blocked', 'friend request while blocked: 403');
ParleyTest::problem($gw->req(PUT => '/v1/guests/ben/friends/ann'), 403, 'blocked', 'the blocker cannot ask either');
is(ParleyTest::conversation_psql($node, $did, "SELECT last_seq FROM parley.conversations WHERE id = '$did'"), $seq_before, 'nothing posted');
is($gw->req(POST => "/v1/conversations/$gid/messages?as=ann", { body => 'group' })->{status}, 201, 'groups are not affected');
is($gw->req(GET => "/v1/conversations/$did/messages?as=ann")->{status}, 200, 'the history stays readable');

ParleyTest::problem($gw->req(DELETE => '/v1/guests/ann/blocks/ben'), 404, 'block_not_found', 'only the blocker unblocks');
is($gw->req(PUT => '/v1/guests/ben/blocks/ann')->{status}, 200, 'blocking again: 200');
$r = $gw->req(DELETE => '/v1/guests/ben/blocks/ann');
is($r->{status}, 204, 'DELETE block: 204');
ParleyTest::problem($gw->req(DELETE => '/v1/guests/ben/blocks/ann'), 404, 'block_not_found', 'unblock twice: 404');
is($gw->req(POST => "/v1/conversations/$did/messages?as=ann", { body => 'again' })->{status}, 201, 'posting works after the unblock');
is($gw->req(PUT => '/v1/guests/ann/friends/ben')->{status}, 201, 'a new request after the unblock: 201');

# --- list pages ------------------------------------------------------------------------
for my $i (1 .. 7)
{
	my $g = sprintf('p%02d', $i);
	$gw->req(PUT => "/v1/guests/$g", { display_name => $g });
	is($gw->req(PUT => "/v1/guests/$g/friends/cat")->{status}, 201, "$g asks cat");
}
my @seen;
my $cursor;
my $pages = 0;
do
{
	my $q = '/v1/guests/cat/friends?status=incoming&limit=3' . (defined $cursor ? "&before=$cursor" : '');
	$r = $gw->req(GET => $q);
	is($r->{status}, 200, "page " . ++$pages);
	push @seen, map { $_->{other_id} } @{ $r->{json}{friends} };
	$cursor = $r->{json}{next_before};
	is(defined $cursor ? 1 : 0, $r->{json}{has_more} ? 1 : 0, 'next_before iff has_more');
} while ($r->{json}{has_more} && $pages < 10);
is($pages, 3, 'three pages of 3, 3, 1');
is("@seen", 'p07 p06 p05 p04 p03 p02 p01', 'newest first, each once');
is(ids($gw->req(GET => '/v1/guests/p01/friends?status=outgoing')), 'cat', 'outgoing side');

# --- with a guest token (API.md section 7): the acting guest is the token's -------------
# Each route acts for the path's guest: the token's guest may act only for
# itself, and the extension says so (403 guest_mismatch), changing nothing.
{
	my $secret = 'a-friends-test-secret-of-more-than-32-bytes';
	my $gt = ParleyTest->start(node => $node, key => $key, name => 'tokens',
		env => { PARLEY_JWT_SECRET => $secret });
	for my $g (qw(tia tom))
	{
		is($gt->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
	}
	my %tok = map { $_ => $gt->req(POST => "/v1/guests/$_/tokens", { ttl => 600 })->{json}{token} } qw(tia tom);
	ok($tok{tia} && $tok{tom}, 'tokens minted');
	my $as = sub { my ($g, $m, $path) = @_; return $gt->req($m, $path, undef, key => $tok{$g}); };

	my $before = rows();
	for my $c ([PUT => '/v1/guests/tom/friends/tia'], [DELETE => '/v1/guests/tom/friends/ann'],
		[PUT => '/v1/guests/tom/blocks/tia'], [DELETE => '/v1/guests/tom/blocks/tia'],
		[GET => '/v1/guests/tom/friends'], [GET => '/v1/guests/tom/friends?status=incoming'])
	{
		ParleyTest::problem($as->('tia', @$c), 403, 'guest_mismatch', "tia's token on $c->[0] $c->[1]: 403");
	}
	ParleyTest::problem($as->('tia', PUT => '/v1/guests/tia/friends/tom?as=tom'), 403, 'guest_mismatch',
		'as naming another guest than the token: 403');
	ParleyTest::problem($gt->req(PUT => '/v1/guests/tom/friends/tia?as=tia'), 403, 'guest_mismatch',
		'a service key with as naming another guest: 403 from the extension');
	ParleyTest::problem($as->('tia', PUT => '/v1/guests/tia/friends/tia'), 400, 'validation_failed',
		'a guest asking itself: 400');
	ParleyTest::problem($as->('tia', PUT => '/v1/guests/tia/friends/nobody'), 404, 'guest_not_found',
		'a guest asking an unknown guest: 404');
	is(rows(), $before, 'the refused requests changed nothing');

	my $r = $as->('tia', PUT => '/v1/guests/tia/friends/tom');
	is($r->{status}, 201, 'tia asks tom with her token: 201');
	is_deeply([ @{ $r->{json} }{qw(guest_id other_id status)} ], [qw(tia tom outgoing)], 'outgoing, from tia\'s side');
	is(ids($as->('tom', GET => '/v1/guests/tom/friends?status=incoming')), 'tia', 'tom lists his requests with his token');
	is($as->('tom', PUT => '/v1/guests/tom/friends/tia?as=tom')->{json}{status}, 'accepted',
		'tom accepts (as naming the token guest is fine)');
	is(ids($as->('tia', GET => '/v1/guests/tia/friends')), 'tom', 'friends');
	is($as->('tom', DELETE => '/v1/guests/tom/friends/tia')->{status}, 204, 'tom unfriends: 204');
	is($as->('tia', PUT => '/v1/guests/tia/blocks/tom')->{status}, 200, 'tia blocks tom: 200');
	ParleyTest::problem($as->('tom', DELETE => '/v1/guests/tom/blocks/tia'), 404, 'block_not_found',
		'tom cannot lift her block');
	ParleyTest::problem($as->('tom', PUT => '/v1/guests/tom/friends/tia'), 403, 'blocked', 'nor ask her');
	is($as->('tia', DELETE => '/v1/guests/tia/blocks/tom')->{status}, 204, 'tia unblocks: 204');
	unlike((split / \| /, rows())[1], qr/tia/, 'no block of tia left');
	$gt->stop('tokens');
}

# --- OpenAPI lists the routes ----------------------------------------------------------------
my $doc = $gw->req(GET => '/openapi.json')->{json};
ok($doc->{paths}{'/v1/guests/{guest_id}/friends/{other_id}'}{put}, 'OpenAPI: PUT friends');
ok($doc->{paths}{'/v1/guests/{guest_id}/friends/{other_id}'}{delete}, 'OpenAPI: DELETE friends');
ok($doc->{paths}{'/v1/guests/{guest_id}/blocks/{other_id}'}{put}, 'OpenAPI: PUT blocks');
ok($doc->{paths}{'/v1/guests/{guest_id}/friends'}{get}, 'OpenAPI: GET friends');

$gw->stop;
done_testing();

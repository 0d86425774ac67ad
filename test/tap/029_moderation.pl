# Moderation over HTTP (API.md sections 9 and 10): conversation PATCH,
# roles, mutes, bans, frozen, slow mode with Retry-After, word filters,
# reports; bad input answered 4xx with nothing changed.
use strict;
use warnings;

use ParleyTest;
use Test::More;

my $node = ParleyTest::new_node('moderation');
my $key  = ParleyTest::create_key($node, 'moderation-test');
my $gw   = ParleyTest->start(node => $node, key => $key);

my $ts_re = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

for my $g (qw(own adm mem mem2 out))
{
	is($gw->req(PUT => "/v1/guests/$g", { display_name => ucfirst $g })->{status}, 201, "guest $g");
}
my $r = $gw->req(POST => '/v1/conversations?as=own',
	{ kind => 'group', participants => [qw(adm mem mem2)], title => 'Mods' });
is($r->{status}, 201, 'group created');
my $cid = $r->{json}{id};
my $c   = "/v1/conversations/$cid";
$r = $gw->req(POST => '/v1/conversations?as=mem', { kind => 'direct', participants => ['mem2'] });
my $did = $r->{json}{id};

# What the DBA sees of the group: roles, mutes, bans, settings.
sub state
{
	return ParleyTest::conversation_psql($node, $cid, qq{
		SELECT (SELECT string_agg(guest_id || ':' || role, ' ' ORDER BY guest_id)
		          FROM parley.participants WHERE conversation_id = '$cid')
		    || ' | ' || coalesce((SELECT string_agg(guest_id, ' ' ORDER BY guest_id)
		          FROM parley.mutes WHERE conversation_id = '$cid'), '-')
		    || ' | ' || coalesce((SELECT string_agg(guest_id, ' ' ORDER BY guest_id)
		          FROM parley.bans WHERE conversation_id = '$cid'), '-')
		    || ' | ' || (SELECT concat_ws(',', title, description, metadata, frozen, slow_mode_s, last_seq)
		          FROM parley.conversations WHERE id = '$cid')});
}

sub post
{
	my ($g, $body) = @_;
	return $gw->req(POST => "$c/messages?as=$g", { body => $body });
}

# --- roles ---------------------------------------------------------------------
$r = $gw->req(PATCH => "$c/participants/adm?as=own", { role => 'admin' });
is($r->{status}, 200, 'PATCH participant: 200') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(guest_id joined_at last_read_seq role)], 'participant shape');
is($r->{json}{role}, 'admin', 'adm is admin');

my $before = state();
ParleyTest::problem($gw->req(PATCH => "$c/participants/own?as=own", { role => 'member' }), 400, 'validation_failed', "the owner's role: 400");
ParleyTest::problem($gw->req(PATCH => "$c/participants/mem?as=own", { role => 'owner' }), 400, 'validation_failed', 'role owner: 400');
ParleyTest::problem($gw->req(PATCH => "$c/participants/mem?as=own", { role => 1 }), 400, 'validation_failed', 'role not a string: 400');
ParleyTest::problem($gw->req(PATCH => "$c/participants/mem?as=own", {}), 400, 'validation_failed', 'no role: 400');
ParleyTest::problem($gw->req(PATCH => "$c/participants/mem2?as=adm", { role => 'admin' }), 403, 'not_the_owner', 'an admin changing roles: 403');
ParleyTest::problem($gw->req(PATCH => "$c/participants/out?as=own", { role => 'admin' }), 404, 'participant_not_found', 'not a participant: 404');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$did/participants/mem2?as=mem", { role => 'admin' }), 409, 'conversation_is_direct', 'direct: 409');
is(state(), $before, 'refused role changes changed nothing');

# --- conversation PATCH ----------------------------------------------------------
$r = $gw->req(PATCH => "$c?as=adm", { title => 'Rules', description => 'Be nice', metadata => { lang => 'en' } });
is($r->{status}, 200, 'PATCH conversation by an admin: 200') or diag($r->{body});
is_deeply([ @{ $r->{json} }{qw(title description)} ], [ 'Rules', 'Be nice' ], 'title and description');
is_deeply($r->{json}{metadata}, { lang => 'en' }, 'metadata');
is_deeply([ $r->{json}{frozen} ? 1 : 0, $r->{json}{slow_mode_s} ], [ 0, 0 ], 'not frozen, no slow mode');
$r = $gw->req(GET => "$c?as=mem");
is($r->{json}{description}, 'Be nice', 'GET shows the description');
$r = $gw->req(GET => '/v1/guests/mem/conversations');
my ($item) = grep { $_->{id} eq $cid } @{ $r->{json}{conversations} };
is($item->{description}, 'Be nice', 'the list shows it too');

$before = state();
ParleyTest::problem($gw->req(PATCH => "$c?as=mem", { title => 'Mine' }), 403, 'insufficient_role', 'a member: 403');
ParleyTest::problem($gw->req(PATCH => "$c?as=out", { title => 'Mine' }), 403, 'not_a_participant', 'an outsider: 403');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/$did?as=mem", { title => 'Ours' }), 409, 'conversation_is_direct', 'direct: 409');
ParleyTest::problem($gw->req(PATCH => "$c?as=own", { description => 'd' x 1001 }), 400, 'validation_failed', 'description of 1001: 400');
ParleyTest::problem($gw->req(PATCH => "$c?as=own", { metadata => [1] }), 400, 'validation_failed', 'metadata not an object: 400');
ParleyTest::problem($gw->req(PATCH => "$c?as=own", { frozen => 'yes' }), 400, 'validation_failed', 'frozen not a boolean: 400');
ParleyTest::problem($gw->req(PATCH => "$c?as=own", { slow_mode_s => 3601 }), 400, 'validation_failed', 'slow_mode_s 3601: 400');
ParleyTest::problem($gw->req(PATCH => "$c?as=own", { slow_mode_s => 1.5 }), 400, 'validation_failed', 'slow_mode_s 1.5: 400');
ParleyTest::problem($gw->req(PATCH => "/v1/conversations/00000000-0000-7000-8000-000000000000?as=own", { title => 'x' }),
	404, 'conversation_not_found', 'unknown conversation: 404');
is(state(), $before, 'refused updates changed nothing');

# --- mutes ---------------------------------------------------------------------
$r = $gw->req(PUT => "$c/mutes/mem?as=adm", { until => '2999-01-01T00:00:00Z' });
is($r->{status}, 200, 'PUT mute: 200') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(conversation_id guest_id until)], 'mute shape');
like($r->{json}{until}, qr/^2999-01-01T00:00:00/, 'until');
ParleyTest::problem(post('mem', 'hi'), 403, 'muted', 'a muted member posts: 403');
$r = $gw->req(PUT => "$c/mutes/mem?as=own", {});
is($r->{status}, 200, 'PUT mute without until: 200');
ok(!defined $r->{json}{until}, '... until lifted (null)');
$before = state();
ParleyTest::problem($gw->req(PUT => "$c/mutes/mem?as=own", { until => 'soon' }), 400, 'validation_failed', 'until not a time: 400');
ParleyTest::problem($gw->req(PUT => "$c/mutes/mem?as=own", { until => '2000-01-01T00:00:00Z' }), 400, 'validation_failed', 'until in the past: 400');
ParleyTest::problem($gw->req(PUT => "$c/mutes/own?as=adm", {}), 403, 'insufficient_role', 'muting the owner: 403');
ParleyTest::problem($gw->req(PUT => "$c/mutes/mem2?as=mem", {}), 403, 'insufficient_role', 'a member muting: 403');
ParleyTest::problem($gw->req(PUT => "$c/mutes/out?as=own", {}), 404, 'participant_not_found', 'muting a non-participant: 404');
ParleyTest::problem($gw->req(PUT => "/v1/conversations/$did/mutes/mem2?as=mem", {}), 409, 'conversation_is_direct', 'direct: 409');
ParleyTest::problem($gw->req(DELETE => "$c/mutes/mem2?as=adm"), 404, 'mute_not_found', 'no mute to lift: 404');
is(state(), $before, 'refused mutes changed nothing');
is($gw->req(DELETE => "$c/mutes/mem?as=adm")->{status}, 204, 'DELETE mute: 204');
is(post('mem', 'free')->{status}, 201, 'the member posts again');

# --- frozen --------------------------------------------------------------------
$r = $gw->req(PATCH => "$c?as=own", { frozen => JSON::PP::true() });
ok($r->{json}{frozen}, 'frozen');
ParleyTest::problem(post('mem', 'hello?'), 403, 'conversation_frozen', 'a member posts while frozen: 403');
is(post('adm', 'admins talk')->{status}, 201, 'an admin posts while frozen');
is($gw->req(PATCH => "$c?as=own", { frozen => JSON::PP::false() })->{status}, 200, 'thawed');

# --- slow mode -------------------------------------------------------------------
is($gw->req(PATCH => "$c?as=own", { slow_mode_s => 600 })->{json}{slow_mode_s}, 600, 'slow mode 600 s');
$r = post('mem', 'too soon');
ParleyTest::problem($r, 429, 'slow_mode', 'the member posted a moment ago: 429');
my $ra = $r->{headers}{'retry-after'} // '';
ok($ra =~ /^\d+$/ && $ra > 590 && $ra <= 600, "Retry-After is the seconds left ($ra)");
is(post('adm', 'not slowed')->{status}, 201, 'admins are not slowed');
is($gw->req(PATCH => "$c?as=own", { slow_mode_s => 0 })->{status}, 200, 'slow mode off');
is(post('mem', 'now')->{status}, 201, 'the member posts again');

# --- bans ----------------------------------------------------------------------
$r = $gw->req(PUT => "$c/bans/mem2?as=adm");
is($r->{status}, 200, 'PUT ban: 200') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(conversation_id guest_id since)], 'ban shape');
like($r->{json}{since}, $ts_re, 'since is RFC 3339');
ParleyTest::problem($gw->req(GET => "$c?as=mem2"), 403, 'not_a_participant', 'the banned guest is out');
ParleyTest::problem($gw->req(POST => "$c/participants?as=mem", { guest_id => 'mem2' }), 403, 'banned', 're-adding: 403 banned');
ParleyTest::problem($gw->req(PUT => "$c/bans/adm?as=adm"), 403, 'insufficient_role', 'an admin banning an admin: 403');
ParleyTest::problem($gw->req(PUT => "$c/bans/nobody?as=own"), 404, 'guest_not_found', 'banning no guest: 404');
is($gw->req(DELETE => "$c/bans/mem2?as=adm")->{status}, 204, 'DELETE ban: 204');
ParleyTest::problem($gw->req(DELETE => "$c/bans/mem2?as=adm"), 404, 'ban_not_found', 'no ban to lift: 404');
is($gw->req(POST => "$c/participants?as=mem", { guest_id => 'mem2' })->{status}, 201, 'added again once unbanned');

# --- word filters (SQL, for the DBA), over HTTP ----------------------------------
ParleyTest::data_psql_all($node, q{SELECT parley.filter_add('darn', 'mask'), parley.filter_add('bad word', 'reject')});
$r = post('mem', 'Darn it, darnit');
is($r->{status}, 201, 'a masked post: 201');
is($r->{json}{body}, '**** it, darnit', 'the whole word is masked, any case');
$before = state();
ParleyTest::problem(post('mem', 'what a BAD word'), 400, 'message_rejected', 'a rejected post: 400');
ParleyTest::problem($gw->req(PATCH => "$c/messages/1?as=own", { body => 'bad  word' }), 400, 'message_rejected', 'a rejected edit: 400');
is(state(), $before, 'nothing was posted');
ParleyTest::data_psql_all($node, q{SELECT parley.filter_remove('darn'), parley.filter_remove('bad word')});
is(post('mem', 'darn')->{json}{body}, 'darn', 'filters removed: the body passes');

# --- reports -------------------------------------------------------------------
$r = $gw->req(POST => "$c/messages/1/reports?as=mem", { reason => 'rude' });
is($r->{status}, 201, 'POST report: 201') or diag($r->{body});
is_deeply([ sort keys %{ $r->{json} } ], [qw(conversation_id created_at reason reporter_id seq)], 'report shape');
is($gw->req(POST => "$c/messages/1/reports?as=mem", { reason => 'again' })->{status}, 200, 'reported again: 200');
ParleyTest::problem($gw->req(POST => "$c/messages/999/reports?as=mem", { reason => 'x' }), 404, 'message_not_found', 'no such message: 404');
ParleyTest::problem($gw->req(POST => "$c/messages/1/reports?as=out", { reason => 'x' }), 403, 'not_a_participant', 'an outsider: 403');
ParleyTest::problem($gw->req(POST => "$c/messages/1/reports?as=mem", { reason => '' }), 400, 'validation_failed', 'empty reason: 400');
ParleyTest::problem($gw->req(POST => "$c/messages/1/reports?as=mem", {}), 400, 'validation_failed', 'no reason: 400');
is(ParleyTest::conversation_psql($node, $cid, q{SELECT string_agg(reporter_id || ':' || reason, ' ') FROM parley.reports}),
	'mem:rude', 'parley.reports lists the report once');

$gw->stop;
done_testing();

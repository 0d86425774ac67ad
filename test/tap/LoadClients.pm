# LoadClients: posting clients for the fault tests (010 crash, 011 killed
# backends, the soak) and the checks of what the database holds afterwards.
#
#   my $lc = LoadClients->start(gw => $gw, convs => [$cid, ...], senders => [...],
#                               workers => 4, dir => $dir);
#   ... break things ...
#   $lc->stop;                    # workers finish their current request
#   $lc->settle;                  # retry every unacknowledged client_msg_id once more
#   $lc->check_database($node);   # the assertions (Test::More)
#
# Each worker is a forked process posting in a loop to one conversation.
# Even workers send a client_msg_id and, after a failure, retry the SAME
# request (same id, same body) until it succeeds; odd workers send none and
# never retry (a retry without an id could duplicate: that is the client's
# contract).  Every attempt is one line in the worker's file:
#   worker n try status seconds seq id body client_msg_id
# Bodies are unique per attempt group ("w3-m17"), so a duplicate shows as
# two rows with one body.

package LoadClients;

use strict;
use warnings;

use Carp;
use HTTP::Tiny;
use JSON::PP;
use POSIX ":sys_wait_h";
use Socket ();
use Test::More;
use Time::HiRes qw(time usleep);

my $JSON = JSON::PP->new->utf8->canonical;

# HTTP::Tiny writes headers and body in two writes; with Nagle on, the body
# waits for the server's delayed ACK (40 ms a request).  Real clients set
# TCP_NODELAY; so do these.
{
	no warnings 'redefine';
	my $connect = \&HTTP::Tiny::Handle::connect;
	*HTTP::Tiny::Handle::connect = sub {
		my $h = $connect->(@_);
		setsockopt($h->{fh}, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1) if $h && $h->{fh};
		return $h;
	};
}

sub start
{
	my ($class, %o) = @_;
	my $self = bless {
		gw      => $o{gw},
		convs   => $o{convs},
		senders => $o{senders},
		workers => $o{workers} // 4,
		dir     => $o{dir},
		rate    => $o{rate},            # per worker requests/s, undef = flat out
		tag     => $o{tag} // '',       # prefix of bodies and ids: runs on one database stay apart
		pids    => [],
	}, $class;
	unlink "$self->{dir}/stop";
	for my $w (0 .. $self->{workers} - 1)
	{
		my $pid = fork();
		croak "fork: $!" unless defined $pid;
		if ($pid == 0)
		{
			$self->_worker($w);
			POSIX::_exit(0);
		}
		push @{ $self->{pids} }, $pid;
	}
	return $self;
}

sub _post
{
	my ($self, $http, $w, $body, $cmid) = @_;
	my $cid    = $self->{convs}[ $w % @{ $self->{convs} } ];
	my $sender = $self->{senders}[ $w % @{ $self->{senders} } ];
	my $payload = { body => $body, (defined $cmid ? (client_msg_id => $cmid) : ()) };
	my $t0 = time();
	my $r = $http->request('POST', "$self->{gw}{url}/v1/conversations/$cid/messages?as=$sender",
		{
			headers => {
				Authorization  => "Bearer $self->{gw}{key}",
				'Content-Type' => 'application/json'
			},
			content => $JSON->encode($payload)
		});
	my $dt = time() - $t0;
	my ($seq, $id) = ('', '');
	# HTTP::Tiny's own failures (599) say why in the content: keep it.
	$id = substr($r->{content} // '', 0, 80) =~ s/[\t\n]/ /gr if $r->{status} == 599;
	if ($r->{status} =~ /^2/)
	{
		my $m = eval { $JSON->decode($r->{content}) } // {};
		($seq, $id) = ($m->{seq} // '', $m->{id} // '');
	}
	return ($r->{status}, $dt, $seq, $id, $r->{headers}{'retry-after'} // '');
}

sub _worker
{
	my ($self, $w) = @_;
	my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
	open(my $out, '>', "$self->{dir}/worker$w.log") or die "open: $!";
	$out->autoflush(1);
	my $use_id = $w % 2 == 0;
	my $n = 0;
	my $next = time();
	while (!-e "$self->{dir}/stop")
	{
		$n++;
		my $body = "$self->{tag}w$w-m$n";
		my $cmid = $use_id ? "$self->{tag}w$w-c$n" : undef;
		for (my $try = 1;; $try++)
		{
			if ($self->{rate})
			{
				# open-loop pacing for the soak: one request per period
				$next += 1 / $self->{rate};
				my $wait = $next - time();
				usleep($wait * 1e6) if $wait > 0;
			}
			my ($status, $dt, $seq, $id, $ra) = $self->_post($http, $w, $body, $cmid);
			print $out join("\t", $w, $n, $try, $status, sprintf('%.3f', $dt), $seq, $id, $body,
				$cmid // '', $ra), "\n";
			last if $status =~ /^2/;
			# a client's pause after a failure (not synchronisation)
			usleep(20_000);
			last if !$use_id || -e "$self->{dir}/stop";
		}
	}
	close($out);
	return;
}

sub stop
{
	my ($self) = @_;
	open(my $fh, '>', "$self->{dir}/stop") or croak "stop: $!";
	close($fh);
	for my $pid (@{ $self->{pids} })
	{
		waitpid($pid, 0);
	}
	$self->{pids} = [];
	$self->_read;
	return;
}

sub _read
{
	my ($self) = @_;
	my @rows;
	for my $w (0 .. $self->{workers} - 1)
	{
		open(my $fh, '<', "$self->{dir}/worker$w.log") or next;
		while (my $l = <$fh>)
		{
			chomp $l;
			my %r;
			@r{qw(w n try status dt seq id body cmid ra)} = split /\t/, $l, -1;
			push @rows, \%r;
		}
		close($fh);
	}
	$self->{rows} = \@rows;
	return;
}

sub rows { return @{ $_[0]{rows} } }

# Every client_msg_id that never got a 2xx is retried now (the database is
# up): it must come back as 201 (never stored) or 200 (stored by an attempt
# whose answer was lost), never as a second message.
sub settle
{
	my ($self) = @_;
	my %acked;
	my %last;
	for my $r ($self->rows)
	{
		next unless length $r->{cmid};
		$acked{ $r->{cmid} } = 1 if $r->{status} =~ /^2/;
		$last{ $r->{cmid} } = $r;
	}
	my $http = HTTP::Tiny->new(timeout => 30);
	my @bad;
	my $n = 0;
	for my $cmid (sort keys %last)
	{
		next if $acked{$cmid};
		my $r = $last{$cmid};
		my ($status, $dt, $seq, $id) = $self->_post($http, $r->{w}, $r->{body}, $cmid);
		$n++;
		push @bad, "$cmid: $status" unless $status =~ /^20[01]$/;
		push @{ $self->{rows} }, { %$r, try => 'settle', status => $status, seq => $seq, id => $id };
	}
	is_deeply(\@bad, [], "settle: $n unacknowledged client_msg_ids retried once more, each 200 or 201");
	return $n;
}

# The assertions on what the clients saw and what the database holds.
# Options: timeout (seconds no request may exceed), allowed (regex of
# statuses a failed attempt may have; default 503).
sub check_database
{
	my ($self, $node, %o) = @_;
	my @rows = $self->rows;
	my $allowed = $o{allowed} // qr/^503$/;
	my @acked = grep { $_->{status} =~ /^2/ } @rows;
	my @failed = grep { $_->{status} !~ /^2/ } @rows;
	my @odd = grep { $_->{status} !~ $allowed } @failed;
	is_deeply([ map { "$_->{body}: $_->{status} $_->{id}" } @odd[0 .. ($#odd < 9 ? $#odd : 9)] ], [],
		'every failed attempt is a clean ' . ($o{allowed} ? 'refusal' : '503'));
	my @no_ra = grep { $_->{status} eq '503' && $_->{ra} !~ /^\d+$/ } @failed;
	is(scalar @no_ra, 0, 'every 503 carries Retry-After');
	if (defined $o{timeout})
	{
		my ($slowest) = sort { $b <=> $a } map { $_->{dt} } @rows;
		cmp_ok($slowest // 0, '<=', $o{timeout}, "no request took longer than $o{timeout} s (slowest " . ($slowest // 0) . ' s)');
	}

	my $db = $node->safe_psql('postgres', q{
		SELECT conversation_id, seq, id, body, coalesce(client_msg_id, '') FROM parley.messages ORDER BY 1, 2});
	my (%by_body, %by_cmid, %seqs);
	my $stored = 0;
	for my $l (split /\n/, $db)
	{
		$stored++;
		my ($cid, $seq, $id, $body, $cmid) = split /\|/, $l, -1;
		push @{ $by_body{$body} }, { seq => $seq, id => $id, cid => $cid };
		$by_cmid{$cmid}++ if length $cmid;
		push @{ $seqs{$cid} }, $seq;
	}

	# Every acknowledged message is there exactly once, as it was answered.
	my (@missing, @dups, @wrong);
	my %seen;
	for my $r (@acked)
	{
		my $in = $by_body{ $r->{body} } // [];
		if (!@$in) { push @missing, $r->{body}; next; }
		push @dups, $r->{body} if @$in > 1 && !$seen{ $r->{body} }++;
		push @wrong, "$r->{body}: answered seq $r->{seq} id $r->{id}, stored seq $in->[0]{seq} id $in->[0]{id}"
		  if $in->[0]{seq} ne $r->{seq} || $in->[0]{id} ne $r->{id};
	}
	is_deeply(\@missing, [], scalar(@acked) . ' acknowledged posts: none missing');
	is_deeply(\@dups, [], 'none stored twice');
	is_deeply([ @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)] ], [], 'each stored with the seq and id it was answered with');

	# client_msg_id: one message per id, whatever the retries.
	my @cm_dups = grep { $by_cmid{$_} > 1 } sort keys %by_cmid;
	is_deeply(\@cm_dups, [], scalar(keys %by_cmid) . ' client_msg_ids: one message each');
	my @all_dups = grep { @{ $by_body{$_} } > 1 } sort keys %by_body;
	is_deeply(\@all_dups, [], 'no body stored twice (acknowledged or not)');

	# seq: 1..n per conversation, and last_seq = n.
	my @gaps;
	for my $cid (sort keys %seqs)
	{
		my @s = sort { $a <=> $b } @{ $seqs{$cid} };
		for my $i (0 .. $#s)
		{
			if ($s[$i] != $i + 1) { push @gaps, "$cid: position " . ($i + 1) . " holds seq $s[$i]"; last; }
		}
		my $last = $node->safe_psql('postgres', "SELECT last_seq FROM parley.conversations WHERE id = '$cid'");
		push @gaps, "$cid: last_seq $last, " . scalar(@s) . ' messages' if $last != @s;
	}
	is_deeply(\@gaps, [], 'seqs gapless per conversation, last_seq matches');
	return { acked => scalar @acked, failed => scalar @failed, stored => $stored };
}

1;

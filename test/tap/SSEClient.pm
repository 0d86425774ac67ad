# SSEClient: a raw-socket Server-Sent Events client for the TAP suites.
# It reads the stream incrementally, undoes chunked transfer encoding and
# splits events, so a test sees exactly what a browser's EventSource would.
#
#   my $s = SSEClient->open($port, "/v1/conversations/$cid/events?as=bob",
#                           key => $key, headers => {'Last-Event-ID' => 5});
#   $s->status;                          # 200 (waits for the response head)
#   $s->wait_until(sub { $s->ids >= 3 }, 10);
#   my @ev = $s->events;                 # [{id, event, data}, ...]
#   $s->retry;                           # the retry: field (ms), once seen
package SSEClient;

use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time);

sub open
{
	my ($class, $port, $path, %o) = @_;
	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => 5) or die "connect: $!";
	setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
	my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	$req .= "Authorization: Bearer $o{key}\r\n" if defined $o{key};
	$req .= "$_: $o{headers}{$_}\r\n" for sort keys %{ $o{headers} // {} };
	$req .= "\r\n";
	syswrite($sock, $req) == length($req) or die "write: $!";
	return bless {
		sock => $sock, raw => '', head => undef, body => '', chunked => 0,
		text => '', events => [], comments => 0, eof => 0,
	}, $class;
}

# Read what is available within $wait seconds; false at EOF.
sub pump
{
	my ($self, $wait) = @_;
	return 0 if $self->{eof};
	my $sel = IO::Select->new($self->{sock});
	while ($sel->can_read($wait))
	{
		my $n = sysread($self->{sock}, my $buf, 65536);
		if (!$n)
		{
			$self->{eof} = 1;
			last;
		}
		$self->{raw} .= $buf;
		$wait = 0;
	}
	$self->_parse;
	return !$self->{eof};
}

sub _parse
{
	my ($self) = @_;
	if (!defined $self->{head})
	{
		my $end = index($self->{raw}, "\r\n\r\n");
		return if $end < 0;
		my $head = substr($self->{raw}, 0, $end);
		$self->{raw} = substr($self->{raw}, $end + 4);
		my ($status_line, @lines) = split /\r\n/, $head;
		my %h = map { my ($k, $v) = split /:\s*/, $_, 2; (lc $k => $v) } @lines;
		($self->{status}) = $status_line =~ /^HTTP\/1\.\d (\d{3})/;
		$self->{head} = \%h;
		$self->{chunked} = lc($h{'transfer-encoding'} // '') eq 'chunked';
	}
	if ($self->{chunked})
	{
		while ($self->{raw} =~ /^([0-9a-fA-F]+)\r\n/)
		{
			my ($hex, $len) = ($1, hex $1);
			my $need = length($hex) + 2 + $len + 2;
			last if length($self->{raw}) < $need;
			$self->{text} .= substr($self->{raw}, length($hex) + 2, $len);
			$self->{raw} = substr($self->{raw}, $need);
			$self->{ended} = 1 if $len == 0;
		}
	}
	else
	{
		$self->{text} .= $self->{raw};
		$self->{raw} = '';
	}
	return if ($self->{status} // 0) != 200;
	while ((my $end = index($self->{text}, "\n\n")) >= 0)
	{
		my $block = substr($self->{text}, 0, $end);
		$self->{text} = substr($self->{text}, $end + 2);
		my %ev;
		for my $line (split /\n/, $block)
		{
			if ($line =~ /^:/) { $self->{comments}++; next; }
			my ($k, $v) = $line =~ /^([a-z]+): ?(.*)$/ or next;
			if ($k eq 'retry') { $self->{retry} = $v; next; }
			$ev{$k} = exists $ev{$k} && $k eq 'data' ? "$ev{$k}\n$v" : $v;
		}
		# As in a browser: a block without data dispatches no event.
		push @{ $self->{events} }, \%ev if exists $ev{data};
	}
	return;
}

# Poll until $cond->() holds or $timeout seconds pass; returns $cond->().
sub wait_until
{
	my ($self, $cond, $timeout) = @_;
	my $deadline = time + $timeout;
	while (!$cond->() && time < $deadline)
	{
		last if !$self->pump(0.05) && !$cond->();
	}
	return $cond->();
}

sub status
{
	my ($self, $timeout) = @_;
	$self->wait_until(sub { defined $self->{head} || $self->{eof} }, $timeout // 10);
	return $self->{status} // '';
}

sub header { my ($self, $name) = @_; return $self->{head}{ lc $name }; }

# The body of a non-stream answer (problem+json), once complete.
sub body
{
	my ($self) = @_;
	$self->wait_until(sub { $self->{eof} || ($self->{head}{'content-length'} // -1) == length($self->{raw} . $self->{text}) }, 10);
	return $self->{text} . $self->{raw};
}

sub events   { my ($self) = @_; return @{ $self->{events} }; }
sub messages { my ($self) = @_; return grep { ($_->{event} // '') eq 'message' } $self->events; }
sub ids      { my ($self) = @_; return map { $_->{id} } $self->messages; }
sub comments { my ($self) = @_; return $self->{comments}; }
sub retry    { my ($self) = @_; return $self->{retry}; }    # the last retry: field, or undef

# Did the server end the stream (last chunk or closed connection)?
sub ended { my ($self) = @_; return $self->{ended} || $self->{eof}; }

sub close
{
	my ($self) = @_;
	close($self->{sock}) if $self->{sock};
	$self->{sock} = undef;
	return;
}

1;

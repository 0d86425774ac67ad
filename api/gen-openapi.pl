#!/usr/bin/perl
# gen-openapi.pl: the OpenAPI 3.1 document of parleyd, from the one API
# table (api/api.txt, read through "gen-api.pl --dump"), the shapes
# (api/shapes.json) and the error codes (api/errcodes.txt).
#
#   gen-openapi.pl --version V --json OUT.json   the document
#   gen-openapi.pl --version V --c OUT.inc       the same, as the C string
#                                                openapi_document[] that
#                                                gateway/http/openapi.c serves
#
# What comes from where:
#   paths, methods, operationIds, summaries,   api.txt: route / endpoint lines
#   path and query parameters, body fields     api.txt: the route's argument lines
#   tag, answer shape, codes per route         api.txt: the route's openapi line
#   statuses of the errors                     errcodes.txt: the status of each code
#   schemas of answers, parameters, fields     shapes.json
#   info.version                               --version (PARLEY_VERSION)
#
# Every operation of a /v1 route answers, besides its own codes, those of
# @every_route below, and every operation those of the HTTP layer; the statuses are grouped from the codes, and each
# error response's schema pins "status" and the "code"s it can carry, so
# a client (and test/openapi-check.sh) knows exactly what to expect.
use strict;
use warnings;
use File::Basename qw(dirname);
use Getopt::Long;
use JSON::PP;

my $dir = dirname(__FILE__);
my ($version, $json_out, $c_out);
GetOptions('version=s' => \$version, 'json=s' => \$json_out, 'c=s' => \$c_out)
  && defined $version && ($json_out || $c_out)
  or die "usage: $0 --version V [--json OUT.json] [--c OUT.inc]\n";

my $JSON = JSON::PP->new->canonical->ascii;

sub read_file
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "$path: $!\n";
	local $/;
	my $t = <$fh>;
	close($fh);
	return $t;
}

my $table = $JSON->decode(scalar `$^X $dir/gen-api.pl --dump`);
die "gen-api.pl --dump failed\n" if $?;
my $shapes = $JSON->decode(read_file("$dir/shapes.json"));
my $schemas = $shapes->{schemas};

# errcodes.txt: code -> status and title, in the file's order; the HTTP
# layer's own codes (SQLSTATE column "-http": framing, timeouts, sizes,
# versions) can answer any request, so every operation lists them.
my (@codes, %status_of, %title_of, @http_layer);
for my $line (split(/\n/, read_file("$dir/errcodes.txt")))
{
	next if $line =~ /^\s*(#|$)/;
	my ($code, $status, $sqlstate, $title) = map { s/^\s+|\s+$//gr } split(/\|/, $line);
	push @http_layer, $code if $sqlstate eq '-http' && !grep { $_ eq $code } @http_layer;
	die "errcodes.txt: $code: two statuses\n" if $status_of{$code} && $status_of{$code} != $status;
	push @codes, $code unless $status_of{$code};
	$status_of{$code} = $status;
	$title_of{$code} //= $title if $title ne '';
}

# Codes every /v1 route can answer with: its input (a query parameter, the
# body, a body sent where none is taken), the key or guest token (API.md
# section 7: an expired token, an `as` or profile of another guest, a
# service-key-only route), the rate limit, the database.
my @every_route = qw(validation_failed invalid_json unauthorized token_expired
  guest_mismatch service_key_required payload_too_large
  unsupported_media_type rate_limited internal_error database_unavailable
  database_timeout conflict_retry);

my %status_text = (
	400 => 'Bad request', 401 => 'No valid service key', 403 => 'The acting guest may not do this',
	404 => 'Not found', 409 => 'Conflict', 413 => 'Body over the size limit',
	415 => 'Body is not application/json', 429 => 'Rate limited', 500 => 'Internal error',
	503 => 'Unavailable: retry later', 408 => 'Request not complete in time',
	414 => 'Request target too long', 431 => 'Header section too large',
	501 => 'Not implemented', 505 => 'HTTP version not supported');

sub ref_to { return {'$ref' => "#/components/schemas/$_[0]"} }

sub shape
{
	my ($name, $where) = @_;
	die "$where: no schema \"$name\" in api/shapes.json\n" unless $schemas->{$name};
	return ref_to($name);
}

# The JSON Schema "type" the gateway's body check TYPE stands for.
my %json_type = (
	'string' => 'string',
	'string-or-null' => 'string,null',
	'string-array' => 'array',
	'integer' => 'integer',
	'any' => undef);

# The schema of body field $b, checked against the gateway's JSON type:
# the type a field is declared with in shapes.json must be the one the
# gateway enforces, so the two cannot drift apart.
sub field_schema
{
	my ($fname, $b) = @_;
	my $s = $shapes->{fields}{ $b->{name} }
	  or die "$fname: body field $b->{name} has no entry in shapes.json's fields\n";
	my $want = $json_type{ $b->{json} };
	my $t = $s;
	$t = $schemas->{ $1 } if $s->{'$ref'} && $s->{'$ref'} =~ m{^#/components/schemas/(\w+)$};
	my $have = ref $t->{type} ? join(',', @{ $t->{type} }) : $t->{type};
	die "$fname: body field $b->{name}: the gateway checks " . ($want // 'any JSON')
	  . ', shapes.json says ' . ($have // 'any') . "\n"
	  if defined $want && $b->{json} ne 'any' && ($have // '') ne $want;
	return $s;
}

sub param_schema
{
	my ($fname, $b, $sqltype) = @_;
	my $p = $shapes->{parameters};
	my $s = $p->{"$b->{name}:$sqltype"} // $p->{ $b->{name} }
	  or die "$fname: parameter $b->{name} has no entry in shapes.json's parameters\n";
	return $s;
}

sub problem_response
{
	my ($status, $codes) = @_;
	my $r = {
		description => "$status_text{$status}: "
		  . join('; ', map { "`$_` ($title_of{$_})" } @$codes),
		content => {
			'application/problem+json' => {
				schema => {
					allOf => [
						ref_to('Problem'),
						{
							type => 'object',
							properties => {
								status => {const => $status + 0},
								code => {enum => [@$codes]}
							}
						}
					]
				}
			}
		}
	};
	$r->{headers}{'Retry-After'} = {
		description => 'seconds to wait before retrying',
		schema => {type => 'integer', minimum => 0}
	} if $status == 429 || $status == 503;
	return $r;
}

# Error responses for the codes of an operation, one per status.
sub error_responses
{
	my ($where, $codes, $responses) = @_;
	my %by;
	for my $c (@$codes)
	{
		die "$where: unknown code $c (api/errcodes.txt)\n" unless $status_of{$c};
		push @{ $by{ $status_of{$c} } }, $c unless grep { $_ eq $c } @{ $by{ $status_of{$c} } // [] };
	}
	$responses->{$_} = problem_response($_, $by{$_}) for keys %by;
}

sub media_of
{
	my ($shape) = @_;
	return 'text/plain' if $shape eq 'Metrics';
	return 'text/event-stream' if $shape eq 'EventStream';
	return 'application/json';
}

sub success_response
{
	my ($description, $shape, $where) = @_;
	my $r = {description => $description};
	$r->{content}{ media_of($shape) }{schema} = shape($shape, $where) if defined $shape;
	return $r;
}

my %success_text = (
	200 => 'OK', 201 => 'Created', 204 => 'Done: no content');

sub function_operation
{
	my ($f, $r) = @_;
	my $o = $r->{openapi} or die "$f->{name}: route $r->{pattern} has no openapi line\n";
	my %arg = map { $_->{name} => $_ } @{ $f->{args} };
	my $op = {
		operationId => $r->{name},
		summary => $r->{summary},
		tags => [ $o->{tag} ],
		description => "One call of `parley.$f->{name}("
		  . join(', ', map { $_->{name} } @{ $f->{args} })
		  . ')` (extension ' . $f->{since} . '); '
		  . ($r->{status} =~ /^stream/ ? 'when it allows the subscription, the answer is a stream of events.'
			  : $r->{status} eq 'pages' ? 'called a page at a time; the answer is the document its pages make, sent as they come (chunked).'
			  : $r->{status} eq '204' ? 'no answer body.' : 'the answer is the JSON it returns.'),
	};

	my (@params, %props, @required);
	my @path = grep { $_->{source} eq 'path' } @{ $r->{args} };
	my %order;
	my @segs = $r->{pattern} =~ /\{([a-z_]+)\}/g;
	@order{@segs} = (0 .. $#segs);
	for my $b ((sort { $order{ $a->{name} } <=> $order{ $b->{name} } } @path),
		(grep { $_->{source} eq 'query' } @{ $r->{args} }))
	{
		my $sqltype = $arg{ $b->{arg} }{type};
		my $schema = param_schema($f->{name}, $b, $sqltype);
		$schema = {%$schema, enum => [ split(/\|/, $b->{choices}) ]} if $b->{choices} && !$schema->{'$ref'};
		push @params, {
			name => $b->{name},
			in => $b->{source},
			required => ($b->{source} eq 'path' || $b->{required}) ? JSON::PP::true : JSON::PP::false,
			description => $b->{doc} // $table->{params}{ $b->{name} } // $b->{name},
			schema => $schema
		};
	}
	for my $b (grep { $_->{source} eq 'body' } @{ $r->{args} })
	{
		$props{ $b->{name} } = field_schema($f->{name}, $b);
		push @required, $b->{name} if $b->{required};
	}
	# The live stream resumes from the header a browser's EventSource sends
	# (it wins over ?after=).
	push @params, {
		name => 'Last-Event-ID',
		in => 'header',
		required => JSON::PP::false,
		description => 'resume after this message seq (the id: of the last message event seen); wins over after',
		schema => $shapes->{parameters}{after}
	} if $r->{status} =~ /^stream/;
	$op->{parameters} = \@params if @params;
	if (%props)
	{
		my $s = {type => 'object', properties => \%props};
		$s->{required} = \@required if @required;
		# No field required: the body may be left out (the gateway takes {}).
		$op->{requestBody} = {
			required => @required ? JSON::PP::true : JSON::PP::false,
			content => {'application/json' => {schema => $s}}
		};
	}

	my $responses = {};
	my $where = "$f->{name} $r->{pattern}";
	if ($r->{status} =~ /^stream/)
	{
		$responses->{200} = success_response(
			'The stream: headers at once, then events as they happen', $o->{shape}, $where);
	}
	elsif ($r->{status} eq 'pages')
	{
		$responses->{200} = success_response('OK', $o->{shape}, $where);
	}
	else
	{
		for my $st (split(/\|/, $r->{status}))
		{
			$responses->{$st} = success_response($success_text{$st}, $st eq '204' ? undef : $o->{shape}, $where);
		}
	}
	error_responses($where, [ @every_route, @{ $o->{codes} }, @http_layer ], $responses);
	$op->{responses} = $responses;
	return $op;
}

sub endpoint_operation
{
	my ($e) = @_;
	my $o = $e->{openapi} or die "endpoint $e->{pattern} has no openapi line\n";
	my $op = {
		operationId => $e->{kind},
		summary => $e->{summary},
		description => "parleyd's own route (no call of the extension); no service key needed"
		  . ($e->{kind} eq 'metrics' ? ' unless PARLEY_METRICS_KEY_REQUIRED is set.' : '.'),
		tags => [ $o->{tag} ],
		security => $e->{kind} eq 'metrics' ? [ {}, {serviceKey => []} ] : [],
		responses => {200 => success_response('OK', $o->{shape}, "endpoint $e->{pattern}")}
	};
	error_responses("endpoint $e->{pattern}", [ @{ $o->{codes} }, @http_layer ], $op->{responses});
	return $op;
}

# ---------------------------------------------------------------------------

my %paths;
for my $f (@{ $table->{functions} })
{
	for my $r (@{ $f->{routes} })
	{
		die "$r->{method} $r->{pattern}: twice\n" if $paths{ $r->{pattern} }{ lc $r->{method} };
		$paths{ $r->{pattern} }{ lc $r->{method} } = function_operation($f, $r);
	}
}
for my $e (@{ $table->{endpoints} })
{
	$paths{ $e->{pattern} }{ lc $e->{method} } = endpoint_operation($e);
}

my %components = (
	schemas => {
		%$schemas,
		ErrorCode => {
			type => 'string',
			enum => \@codes,
			description => 'the stable code of a problem (docs/errors.md, from api/errcodes.txt)'
		}
	},
	securitySchemes => {
		serviceKey => {
			type => 'http',
			scheme => 'bearer',
			description => 'a service key (`parley.service_key_create(name)`)'
		}
	});

my $doc = {
	openapi => '3.1.0',
	info => {%{ $shapes->{info} }, version => $version},
	servers => $shapes->{servers},
	tags => $shapes->{tags},
	security => [ {serviceKey => []} ],
	paths => \%paths,
	components => \%components,
};
my $text = $JSON->encode($doc);

sub write_file
{
	my ($path, $content) = @_;
	open(my $out, '>', "$path.tmp") or die "$path.tmp: $!\n";
	print $out $content;
	close($out) or die "$path.tmp: $!\n";
	rename("$path.tmp", $path) or die "$path: $!\n";
}

write_file($json_out, JSON::PP->new->canonical->pretty->encode($doc)) if $json_out;
if ($c_out)
{
	# A C string literal in lines of 96 characters of the document (ASCII:
	# JSON escapes the rest); '?' escaped so no trigraph can form.
	my @lines;
	for (my $i = 0; $i < length($text); $i += 96)
	{
		my $chunk = substr($text, $i, 96);
		$chunk =~ s/([\\"?])/\\$1/g;
		push @lines, "\"$chunk\"";
	}
	write_file($c_out,
		"/* Generated by api/gen-openapi.pl from api/api.txt, api/shapes.json and\n"
		  . " * api/errcodes.txt: do not edit. */\n"
		  . "static const char openapi_document[] =\n" . join("\n", @lines) . ";\n");
}

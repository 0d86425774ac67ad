#!/usr/bin/perl
# gen-api.pl: generate what api/api.txt declares (see its header).
#
#   gen-api.pl --routes OUT.inc          the route rows that routes.c includes
#   gen-api.pl --proxy DIR/SCRIPT.sql    one script of parley_proxy, made from
#                                        the table and DIR/src/ (SCRIPT.head.sql,
#                                        the hand-written merges NAME.sql)
#   gen-api.pl --grants FILE [--check]   extension/gateway-role.sql
#   gen-api.pl --shard-grants FILE [--check]  proxy/shard-role.sql
#   gen-api.pl --scaling FILE [--check]  the cost table of docs/scaling.md
#   gen-api.pl --readme FILE [--check]   the signature table of README.md
#   gen-api.pl --dump                    the parsed table as JSON, for
#                                        api/gen-openapi.pl
#   gen-api.pl --catalog                 every function as the catalog names it,
#                                        "name(args) -> result", one a line, sorted
#                                        (test/api-catalog.sh compares)
#
# --check compares instead of writing and exits 1 when FILE is stale.
use strict;
use warnings;
use File::Basename qw(basename dirname);
use Getopt::Long;

my $table_path = dirname(__FILE__) . '/api.txt';
my ($routes_out, $proxy_out, $grants_out, $shard_grants_out, $scaling_out, $readme_out, $catalog, $dump, $check);
GetOptions(
	'table=s' => \$table_path,
	'routes=s' => \$routes_out,
	'proxy=s' => \$proxy_out,
	'grants=s' => \$grants_out,
	'shard-grants=s' => \$shard_grants_out,
	'scaling=s' => \$scaling_out,
	'readme=s' => \$readme_out,
	'catalog' => \$catalog,
	'dump' => \$dump,
	'check' => \$check)
  or die "usage: $0 [--table FILE] [--routes OUT] [--proxy OUT] [--grants FILE] [--shard-grants FILE]\n"
  . "       [--readme FILE] [--scaling FILE] [--check] | --catalog | --dump\n";

# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

my (@functions, %function, @sections, %section, %param_doc, @endpoints);

sub fail { die "$table_path:$.: $_[0]\n" }

# "a text, b integer DEFAULT 50" -> [{name, type, default, sqlname}]
sub parse_args
{
	my ($text) = @_;
	my (@args, $depth, $cur, $quote);
	$depth = 0;
	$cur = '';
	for my $c (split(//, $text))
	{
		$quote = !$quote if $c eq "'";
		if (!$quote && $c eq '(') { $depth++ }
		if (!$quote && $c eq ')') { $depth-- }
		if (!$quote && $depth == 0 && $c eq ',')
		{
			push @args, $cur;
			$cur = '';
			next;
		}
		$cur .= $c;
	}
	push @args, $cur if $cur =~ /\S/;
	my @out;
	for my $a (@args)
	{
		$a =~ s/^\s+|\s+$//g;
		$a =~ /^("?)([a-z_][a-z0-9_]*)\1\s+(\S+?)(?:\s+DEFAULT\s+(.+))?$/
		  or fail("cannot read argument \"$a\"");
		push @out, {sqlname => "$1$2$1", name => $2, type => $3, default => $4};
	}
	return \@out;
}

sub parse_table
{
	open(my $in, '<', $table_path) or die "$table_path: $!\n";
	my ($fn, $route, $sec, $sig, $ep);
	while (my $line = <$in>)
	{
		chomp $line;
		next if $line =~ /^\s*#/ || $line =~ /^\s*$/;

		if (defined $sig)
		{
			# a signature continues until its parentheses close and its
			# RETURNS clause is read
			push @{ $sig->{lines} }, $line;
			finish_signature($sig) and undef $sig;
			next;
		}
		if ($line =~ /^section\s+(\S+)\s*$/)
		{
			$sec = {name => $1, prose => []};
			undef $ep;
			push @sections, $sec;
			$section{$1} = $sec;
			undef $fn;
			next;
		}
		if ($line =~ /^param\s+(\S+)\s+"([^"]*)"\s*$/)
		{
			$param_doc{$1} = $2;
			next;
		}
		if ($line =~ /^endpoint\s+([A-Z]+)\s+(\S+)\s+([a-z]+)\s+"([^"]*)"\s*$/)
		{
			$ep = {method => $1, pattern => $2, kind => $3, summary => $4};
			push @endpoints, $ep;
			undef $fn;
			next;
		}
		if ($ep && $line =~ /^\s+openapi\s+(.*?)\s*$/)
		{
			$ep->{openapi} = parse_openapi($1);
			next;
		}
		if ($line =~ /^function\s+([a-z_][a-z0-9_]*)\(/)
		{
			# a name declared again: its signature since a later version
			# (the earlier declaration has "until" that version)
			$fn = {name => $1, routes => []};
			undef $ep;
			$fn->{previous} = $function{$1} if $function{$1};
			push @functions, $fn;
			$function{$1} = $fn;
			undef $sec;
			$sig = {fn => $fn, lines => [$line]};
			finish_signature($sig) and undef $sig;
			next;
		}
		if ($sec && $line =~ /^\s+(\S.*)$/)
		{
			push @{ $sec->{prose} }, $1;
			next;
		}
		fail("a line outside any item") unless $fn;
		if ($line =~ /^\s+since\s+(\d+\.\d+\.\d+)\s*$/)
		{
			$fn->{since} = $1;
		}
		elsif ($line =~ /^\s+until\s+(\d+\.\d+\.\d+)\s*$/)
		{
			$fn->{until} = $1;
		}
		elsif ($line =~ /^\s+gateway\s*$/)
		{
			$fn->{gateway} = 1;
		}
		elsif ($line =~ /^\s+answers\s+(\S.*?)\s*$/)
		{
			$fn->{answers} = $1;
		}
		elsif ($line =~ /^\s+proxy-cost\s+"([^"]+)"\s+"([^"]+)"\s*$/)
		{
			$fn->{cost} = [ $1, $2 ];
		}
		elsif ($line =~ /^\s+route\s+([A-Z]+)\s+(\S+)\s+(\S+)(?:\s+name=([a-z_]+))?(\s+service)?\s+"([^"]*)"\s*$/)
		{
			$route = {method => $1, pattern => $2, status => $3, name => $4 // $fn->{name},
				service => $5 ? 1 : 0, summary => $6, args => []};
			push @{ $fn->{routes} }, $route;
		}
		elsif ($route && $line =~ /^\s+openapi\s+(.*?)\s*$/)
		{
			$route->{openapi} = parse_openapi($1);
		}
		elsif ($line =~ /^\s+proxy\s+(\S+)\s+(\S+)((?:\s+\S+=\S+)*)\s*$/)
		{
			my %p = (section => $1, rule => $2);
			for my $kv (split(' ', $3 // ''))
			{
				my ($k, $v) = split(/=/, $kv, 2);
				fail("unknown proxy attribute $k") unless $k eq 'merge' || $k eq 'uses';
				$p{$k} = $v;
			}
			$fn->{proxy} = \%p;
		}
		elsif ($route && $line =~ /^\s+([a-z_][a-z0-9_]*)\s+(path|query|body|gateway)\s*(.*?)\s*$/)
		{
			my ($arg, $src, $rest) = ($1, $2, $3);
			my $b = {arg => $arg, source => $src};
			$b->{doc} = $1 if $rest =~ s/\s*"([^"]*)"$//;
			my @w = split(' ', $rest);
			if ($src eq 'body')
			{
				$b->{json} = shift @w or fail("body $arg: a JSON type is needed");
				$b->{name} = $arg;
			}
			else
			{
				$b->{name} = shift @w or fail("$src $arg: a name is needed");
			}
			$b->{required} = 1 if @w && $w[0] eq 'required' && shift @w;
			$b->{choices} = $1 if @w && $w[0] =~ /^choices=(\S+)$/ && shift @w;
			fail("cannot read \"@w\"") if @w;
			push @{ $route->{args} }, $b;
		}
		else
		{
			fail("cannot read this line");
		}
	}
	fail("unfinished signature") if defined $sig;
	close($in);

	for my $f (@functions)
	{
		die "$f->{name}: no since\n" unless $f->{since};
		die "$f->{name}: no proxy rule\n" unless $f->{proxy};
		my $p = $f->{proxy};
		die "$f->{name}: unknown proxy rule $p->{rule}\n"
		  unless $p->{rule} =~ /^(conversation|guest|all|split|partition0|local|shard|none)$/;
		die "$f->{name}: unknown section $p->{section}\n"
		  unless $p->{section} eq '-' || $section{ $p->{section} };
		$p->{merge} //= $p->{rule} eq 'all' ? 'relay-all' : 'relay';
		die "$f->{name}: unknown merge $p->{merge}\n"
		  unless $p->{merge} =~ /^(relay|relay-all|objects|hand)$/;
		my $prev = $f->{previous};
		die "$f->{name}: declared twice, the first without \"until $f->{since}\"\n"
		  if $prev && ($prev->{until} // '') ne $f->{since};
		die "$f->{name}: \"until\" but no later declaration\n"
		  if $f->{until} && ($function{ $f->{name} } == $f);
		die "$f->{name}: a replaced signature keeps no route\n" if $f->{until} && @{ $f->{routes} };
	}
}

# The declarations of the current API (a replaced signature is not one).
sub current { return grep { !$_->{until} } @functions }

# The declarations in force at version $v.
sub at_version
{
	my ($v) = @_;
	return grep {
		version_cmp($_->{since}, $v) <= 0 && (!$_->{until} || version_cmp($_->{until}, $v) > 0)
	} @functions;
}

# "TAG SHAPE CODE..." of an openapi line
sub parse_openapi
{
	my ($text) = @_;
	my ($tag, $shape, @codes) = split(' ', $text);
	fail("openapi: TAG SHAPE [CODE ...] expected") unless defined $shape;
	return {tag => $tag, shape => $shape eq '-' ? undef : $shape, codes => \@codes};
}

# Once a signature is complete: name, arguments, return type and layout.
sub finish_signature
{
	my ($sig) = @_;
	my $text = join("\n", @{ $sig->{lines} });
	my $flat = join(' ', map { s/^\s+|\s+$//gr } @{ $sig->{lines} });
	return 0 unless $flat =~ /^function\s+([a-z_0-9]+)\((.*?)\)\s+RETURNS\s+(.+)$/;
	my ($name, $args, $ret) = ($1, $2, $3);
	return 0 if ($ret =~ tr/(//) != ($ret =~ tr/)//);
	my $fn = $sig->{fn};
	$fn->{args} = parse_args($args);
	$fn->{returns} = $ret;
	$fn->{sig_lines} = [ @{ $sig->{lines} } ];
	return 1;
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

sub c_string
{
	my ($s) = @_;
	$s =~ s/(["\\])/\\$1/g;
	return "\"$s\"";
}

sub write_or_check
{
	my ($path, $text) = @_;
	if ($check)
	{
		open(my $fh, '<', $path) or die "$path: $!\n";
		my $old = do { local $/; <$fh> };
		close($fh);
		if ($old ne $text)
		{
			print STDERR "$path is stale: run 'make generated' and commit it\n";
			exit 1;
		}
		return;
	}
	open(my $out, '>', "$path.tmp") or die "$path.tmp: $!\n";
	print $out $text;
	close($out) or die "$path.tmp: $!\n";
	rename("$path.tmp", $path) or die "$path: $!\n";
}

sub arg_types { return join(', ', map { $_->{type} } @{ $_[0]->{args} }) }

my $banner = "Generated by api/gen-api.pl from api/api.txt: do not edit.";

# ---------------------------------------------------------------------------
# Route rows (gateway/http/routes_table.inc)
# ---------------------------------------------------------------------------

# What gateway/http/routes.h offers beyond main's param kinds.  Branch
# wt/req adds PARAM_QUERY_SEQ (a bigint cursor), PARAM_QUERY_ENUM with
# .choices, and PARAM_BODY_SEQ (a bigint body field bound on its own, so
# the gateway clamps it); branch wt/events runs the subscribe check of the
# events route itself (its row has no SQL).  Once merged, set these to 1:
# the table (api.txt) already says which parameter is which.
my %routes_h = (query_seq => 1, query_enum => 1, body_seq => 1, events_own_sql => 1);

# The SQL expression that passes route parameter $n as argument $a.
sub bind_expr
{
	my ($a, $b, $n) = @_;
	my $t = $a->{type};
	return "\$${n}::$t" if $b->{source} eq 'gateway';
	return "pg_catalog.string_to_array(\$$n, ',')" if $b->{source} eq 'query' && $t eq 'text[]';
	if ($b->{source} ne 'body')
	{
		return "\$$n" if $t eq 'text';
		return "\$${n}::$t" if $t =~ /^(uuid|bigint|integer)$/;
		# a boolean: a query parameter with choices=true|false
		return "\$${n}::$t" if $t eq 'boolean' && $b->{choices};
		die "$a->{name}: no path or query binding for type $t\n";
	}
	return "\$${n}::$t" if $routes_h{body_seq} && $t eq 'bigint';
	my $field = "(\$${n}::jsonb)";
	return "$field->>'$b->{name}'" if $t eq 'text';
	return "ARRAY(SELECT jsonb_array_elements_text($field->'$b->{name}'))" if $t eq 'text[]';
	if ($t =~ /^(bigint|integer)$/)
	{
		return "($field->'$b->{name}')::$t" unless defined $a->{default} && !$b->{required};
		return "COALESCE(($field->'$b->{name}')::$t, $a->{default})";
	}
	return "($field->'$b->{name}')::boolean" if $t eq 'boolean';
	return "($field->>'$b->{name}')::timestamptz" if $t eq 'timestamptz';
	if ($t eq 'jsonb')
	{
		return "$field->'$b->{name}'" unless defined $a->{default} && !$b->{required};
		return "COALESCE($field->'$b->{name}', $a->{default}::jsonb)";
	}
	die "$a->{name}: no body binding for type $t\n";
}

my %json_type = (
	'string' => 'JF_STRING',
	'string-or-null' => 'JF_STRING_OR_NULL',
	'string-array' => 'JF_STRING_ARRAY',
	'integer' => 'JF_INTEGER',
	'any' => 'JF_ANY');

# One route of function $f: its parameters in $n order and its SQL.
sub route_row
{
	my ($f, $r, $bodies) = @_;
	my %arg = map { $_->{name} => $_ } @{ $f->{args} };
	my %bound;
	for my $b (@{ $r->{args} })
	{
		die "$f->{name}: route binds unknown argument $b->{arg}\n" unless $arg{ $b->{arg} };
		$bound{ $b->{arg} } = $b;
	}

	# $1.. : path segments in pattern order, then query parameters and the
	# body in argument order
	my (@params, %number);
	for my $seg ($r->{pattern} =~ /\{([a-z_]+)\}/g)
	{
		my ($b) = grep { $_->{source} eq 'path' && $_->{name} eq $seg } @{ $r->{args} };
		die "$f->{name}: {$seg} binds no argument\n" unless $b;
		push @params, $b;
		$number{ $b->{arg} } = scalar @params;
	}
	my $body_n;
	for my $a (@{ $f->{args} })
	{
		my $b = $bound{ $a->{name} } or next;
		if ($b->{source} eq 'query' || $b->{source} eq 'gateway')
		{
			push @params, $b;
			$number{ $a->{name} } = scalar @params;
		}
		elsif ($b->{source} eq 'body' && $routes_h{body_seq} && $a->{type} eq 'bigint')
		{
			push @params, {%$b, source => 'body-seq'};
			$number{ $a->{name} } = scalar @params;
		}
		elsif ($b->{source} eq 'body')
		{
			unless ($body_n)
			{
				push @params, {source => 'body'};
				$body_n = scalar @params;
			}
			$number{ $a->{name} } = $body_n;
		}
	}
	die "$f->{name}: more than 8 route parameters\n" if @params > 8;

	# the call: every argument in signature order, up to the last bound one
	my @call;
	my @args = @{ $f->{args} };
	pop @args while @args && !$bound{ $args[-1]{name} };
	for my $a (@args)
	{
		my $b = $bound{ $a->{name} } or die "$f->{name}: argument $a->{name} is not bound\n";
		push @call, bind_expr($a, $b, $number{ $a->{name} });
	}
	my $call = "parley.$f->{name}(" . join(', ', @call) . ")";

	my ($kind, $status, $sql) = ('ROUTE_SQL');
	if ($r->{status} eq '201|200')
	{
		($status, $sql) = (0, "SELECT r::text, parley.last_status() FROM $call AS r");
	}
	elsif ($r->{status} =~ /^stream\(([a-z_,]+)\)$/)
	{
		$kind = 'ROUTE_EVENTS';
		$status = 200;
		$sql = 'SELECT ' . join(', ', map { "s->>'$_'" } split(/,/, $1)) . " FROM $call AS s";
		undef $sql if $routes_h{events_own_sql};
	}
	elsif ($r->{status} eq 'pages')
	{
		# A paged answer (ROUTE_PAGES): the function's next argument after
		# the bound ones is the page cursor the gateway passes ($N, NULL
		# for the first page); it answers {"part", "next"}.
		my $n = @params + 1;
		$kind = 'ROUTE_PAGES';
		$status = 200;
		(my $c = $call) =~ s/\)$/, \$$n)/;
		$c =~ s/\(, /(/;
		$sql = "SELECT r->>'part', r->>'next' FROM $c AS r";
	}
	elsif ($r->{status} eq '204')
	{
		die "$f->{name}: 204 needs RETURNS void\n" unless $f->{returns} eq 'void';
		($status, $sql) = (204, "SELECT $call");
	}
	elsif ($r->{status} =~ /^(200|201)$/)
	{
		($status, $sql) = ($1, "SELECT $call\::text");
	}
	else
	{
		die "$f->{name}: unknown route status $r->{status}\n";
	}

	# OpenAPI's view of each parameter
	my @prow;
	for my $b (@params)
	{
		if ($b->{source} eq 'body')
		{
			push @prow, "\t\t\t{.source = PARAM_BODY},\n";
			next;
		}
		if ($b->{source} eq 'body-seq')
		{
			push @prow, "\t\t\t{.source = PARAM_BODY_SEQ, .name = " . c_string($b->{name}) . "},\n";
			next;
		}
		if ($b->{source} eq 'gateway')
		{
			push @prow, "\t\t\t{.source = PARAM_GATEWAY, .name = " . c_string($b->{name}) . "},\n";
			next;
		}
		my $t = $arg{ $b->{arg} }{type};
		my $src;
		if ($b->{source} eq 'path')
		{
			$src = $t eq 'uuid' ? 'PARAM_PATH_UUID' : $t eq 'bigint' ? 'PARAM_PATH_SEQ' : 'PARAM_PATH_TEXT';
		}
		elsif ($t =~ /^(bigint|integer)$/)
		{
			die "$f->{name}: a required integer query parameter\n" if $b->{required};
			$src = $t eq 'bigint' && $routes_h{query_seq} ? 'PARAM_QUERY_SEQ' : 'PARAM_QUERY_INT';
		}
		elsif ($b->{choices} && $routes_h{query_enum})
		{
			die "$f->{name}: a required enum query parameter\n" if $b->{required};
			$src = 'PARAM_QUERY_ENUM';
		}
		else
		{
			$src = $b->{required} ? 'PARAM_QUERY_REQUIRED' : 'PARAM_QUERY';
		}
		my $doc = $b->{doc} // $param_doc{ $b->{name} }
		  // die "$f->{name}: no description of parameter $b->{name}\n";
		my $choices = $src eq 'PARAM_QUERY_ENUM' ? ', .choices = ' . c_string($b->{choices}) : '';
		push @prow, sprintf("\t\t\t{.source = %s, .name = %s, .description = %s%s},\n",
			$src, c_string($b->{name}), c_string($doc), $choices);
	}

	my $body = 'NULL';
	my @fields = grep { $_->{source} eq 'body' } map { $bound{ $_->{name} } // () } @{ $f->{args} };
	if (@fields)
	{
		$body = "$f->{name}_body";
		my $t = "static const struct json_field $body\[] = {\n";
		for my $b (@fields)
		{
			my $jt = $json_type{ $b->{json} } // die "$f->{name}: unknown JSON type $b->{json}\n";
			$t .= sprintf("\t{%s, %s, %s},\n", c_string($b->{name}), $jt, $b->{required} ? 'true' : 'false');
		}
		$t .= "\t{NULL, 0, false}\n};\n\n";
		push @$bodies, $t;
	}

	return "\t{\n\t\t.kind = $kind,\n\t\t.method = METHOD_$r->{method},\n"
	  . "\t\t.pattern = " . c_string($r->{pattern}) . ",\n"
	  . "\t\t.name = " . c_string($r->{name}) . ",\n"
	  . "\t\t.summary = " . c_string($r->{summary}) . ",\n"
	  . "\t\t.sql = " . (defined $sql ? c_string($sql) : 'NULL') . ",\n"
	  . "\t\t.nparams = " . scalar(@params) . ",\n"
	  . (@prow ? "\t\t.params = {\n" . join('', @prow) . "\t\t},\n" : '')
	  . "\t\t.body = $body,\n\t\t.status = $status,\n\t\t.public = false,\n"
	  . "\t\t.service_only = " . ($r->{service} ? 'true' : 'false') . ",\n\t},\n";
}

sub routes_inc
{
	my (@rows, @bodies);
	for my $f (current())
	{
		push @rows, route_row($f, $_, \@bodies) for @{ $f->{routes} };
	}
	for my $e (@endpoints)
	{
		push @rows, "\t{\n\t\t.kind = ROUTE_" . uc($e->{kind}) . ",\n\t\t.method = METHOD_$e->{method},\n"
		  . "\t\t.pattern = " . c_string($e->{pattern}) . ",\n"
		  . "\t\t.name = " . c_string($e->{kind}) . ",\n"
		  . "\t\t.summary = " . c_string($e->{summary}) . ",\n"
		  . "\t\t.status = 200,\n\t\t.public = true,\n\t},\n";
	}
	return "/*\n * routes_table.inc\n *\t  Included by routes.c: the body fields and the rows of routes[], one\n"
	  . " *\t  per route of api/api.txt, in its order.\n *\n * $banner\n */\n\n"
	  . join('', @bodies)
	  . "const struct route routes[] = {\n" . join('', @rows) . "};\n";
}

# ---------------------------------------------------------------------------
# parley_proxy's scripts
# ---------------------------------------------------------------------------

# The layout of a generated remote function, as the released scripts have
# it (they must come out byte for byte): its arguments wrap before column
# ARGS_WIDTH, RETURNS stays on the first line up to column RETURNS_WIDTH,
# the shard's SELECT is one line up to column SELECT_WIDTH.
use constant {ARGS_WIDTH => 103, RETURNS_WIDTH => 90, SELECT_WIDTH => 105};

my $EXCEPTION = "EXCEPTION WHEN internal_error THEN\n"
  . "    PERFORM parley_proxy.raise_unreachable(SQLERRM);\n"
  . "    RAISE;\nEND\n\$\$;\n";

# Words joined by ", ", wrapped before a word that would pass column $width,
# continuation lines aligned under the first word.
sub flow
{
	my ($prefix, $words, $suffix, $width) = @_;
	my $out = $prefix;
	my $col = length($prefix);
	for my $i (0 .. $#$words)
	{
		my $w = $words->[$i] . ($i < $#$words ? ',' : $suffix);
		if ($i > 0)
		{
			if ($col + 1 + length($w) > $width)
			{
				$out .= "\n" . (' ' x length($prefix));
				$col = length($prefix);
			}
			else
			{
				$out .= ' ';
				$col++;
			}
		}
		$out .= $w;
		$col += length($w);
	}
	return $out;
}

sub placeholders { return join(', ', map { '$' . $_ } 1 .. scalar @{ $_[0]->{args} }) }

# The remote function: runs the extension's function on the shard(s) the
# rule picks and answers (answer, http_status).
sub remote_function
{
	my ($f) = @_;
	return remote_text($f->{name}, $f->{args}, $f->{proxy}{rule},
		"parley.$f->{name}(" . placeholders($f) . ")", $f->{returns} eq 'void');
}

# A remote function parley_proxy.NAME(ARGS) that runs CALL (an extension
# function's call, $1.. the arguments) where RULE says.
sub remote_text
{
	my ($name, $args, $rule, $call, $void) = @_;
	my $set = $rule =~ /^(all|split)$/ ? 'SETOF ' : '';
	my $returns = "RETURNS ${set}parley_proxy.answer";
	my @args = map { "$_->{sqlname} $_->{type}" } @$args;
	my $head = flow("CREATE FUNCTION parley_proxy.$name(", \@args, ')', ARGS_WIDTH);
	$head .= ($head !~ /\n/ && length("$head $returns") <= RETURNS_WIDTH) ? " $returns" : "\n$returns";

	my $run;
	if ($rule eq 'conversation')
	{
		$run = "    RUN ON parley_proxy.conversation_hash(conversation_id);\n";
	}
	elsif ($rule eq 'guest')
	{
		$run = "    RUN ON parley_proxy.guest_hash(guest_id);\n";
	}
	elsif ($rule eq 'all')
	{
		$run = "    RUN ON ALL;\n";
	}
	elsif ($rule eq 'split')
	{
		my @arrays = map { $_->{name} } grep { $_->{type} =~ /\[\]$/ } @$args;
		$run = "    SPLIT " . join(', ', @arrays) . ";\n"
		  . "    RUN ON parley_proxy.conversation_hash(conversation_ids);\n";
	}
	elsif ($rule eq 'partition0')
	{
		$run = "    RUN ON 0;\n";
	}
	else
	{
		die "$name: no remote function for rule $rule\n";
	}
	my ($select, $from) = $void
	  ? ('SELECT NULL::jsonb AS answer, parley.last_status() AS http_status', "FROM $call;")
	  : ('SELECT r AS answer, parley.last_status() AS http_status', "FROM $call r;");
	my $sel = "    $select $from";
	$sel = "    $select\n      $from" if length($sel) > SELECT_WIDTH;
	return "$head\nLANGUAGE plproxy AS \$\$\n    CLUSTER 'parley_shards';\n$run$sel\n\$\$;\n";
}

# The wrapper's header, laid out as the table lays out the signature.
sub wrapper_head
{
	my ($f, $replace) = @_;
	my $create = $replace ? 'CREATE OR REPLACE FUNCTION' : 'CREATE FUNCTION';
	my @lines = @{ $f->{sig_lines} };
	my $shift = length("$create parley.") - length('function ');
	my $out = $lines[0] =~ s/^function /$create parley./r;
	for my $l (@lines[ 1 .. $#lines ])
	{
		if ($l =~ /^\s*(RETURNS\b.*)$/)
		{
			$out .= "\n$1";
		}
		else
		{
			$l =~ /^(\s*)(.*)$/;
			$out .= "\n" . (' ' x (length($1) + $shift)) . $2;
		}
	}
	return "$out\n";
}

# The wrapper's body for a generated merge.
sub merge_body
{
	my ($f) = @_;
	my $m = $f->{proxy}{merge};
	my $remote = "parley_proxy.$f->{name}(" . placeholders($f) . ")";
	my $verb = $f->{returns} eq 'void' ? 'PERFORM' : 'RETURN';
	return "BEGIN\n    $verb parley_proxy.relay($remote);\n" if $m eq 'relay';
	return "BEGIN\n    $verb parley_proxy.relay_all(ARRAY(SELECT a FROM $remote AS a));\n"
	  if $m eq 'relay-all';
	return "BEGIN\n    RETURN (SELECT coalesce(jsonb_object_agg(h.key, h.value), '{}')\n"
	  . "          FROM $remote AS a, jsonb_each(a.answer) AS h);\n"
	  if $m eq 'objects';
	die "$f->{name}: no generated merge $m\n";
}

# From this version of parley_proxy on, a one-shard wrapper keeps the
# shard's status itself instead of calling relay(): one PL/pgSQL call less
# per API call (docs/scaling.md, "The proxy's cost").  The update script to
# it replaces the wrappers of the released scripts.
use constant LEAN_SINCE => '0.6.0';

# (a partition-0 function that returns neither jsonb nor void has no wrapper)
sub lean
{
	my ($f) = @_;
	return $f->{proxy}{merge} eq 'relay'
	  && !($f->{proxy}{rule} eq 'partition0' && $f->{returns} !~ /^(jsonb|void)$/);
}

sub lean_body
{
	my ($f) = @_;
	my $remote = "parley_proxy.$f->{name}(" . placeholders($f) . ")";
	return "DECLARE\n    a parley_proxy.answer;\nBEGIN\n    a := $remote;\n"
	  . "    PERFORM pg_catalog.set_config('parley_proxy.last_status', coalesce(a.http_status::text, ''), false);\n"
	  . ($f->{returns} eq 'void' ? '' : "    RETURN a.answer;\n");
}

# The wrapper's body in version $v of the scripts.
sub body_at
{
	my ($f, $v) = @_;
	return lean($f) && version_cmp($v, LEAN_SINCE) >= 0 ? lean_body($f) : merge_body($f);
}

my %merge_comment = (objects => "-- Each shard answers for its own ids: the objects are disjoint.\n");

sub wrapper
{
	my ($f, $body, $replace) = @_;
	return wrapper_head($f, $replace)
	  . "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS \$\$\n"
	  . $body . $EXCEPTION;
}

sub read_fragment
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "$path: $!\n";
	my $t = do { local $/; <$fh> };
	close($fh);
	return $t;
}

# A hand-written merge: the fragment with "-- @remote" replaced by the
# generated remote function and "-- @wrapper" by the wrapper's header, its
# body the rest of the fragment, and the exception handler.  A merge that
# calls other remote functions declares each with a line
#   -- @remote NAME(ARG TYPE, ...) RULE parley.FUNCTION($2, ...)
# (RULE as in the table: the remote function runs that call where it says).
sub hand_block
{
	my ($f, $path, $replace) = @_;
	my $t = read_fragment($path);
	my ($before, $body) = split(/^-- \@wrapper\n/m, $t, 2);
	die "$path: no \"-- \@wrapper\" line\n" unless defined $body;
	$before =~ s/^-- \@remote\n/remote_function($f)/me;
	$before =~ s{^-- \@remote ([a-z_]+)\((.*?)\) ([a-z0-9]+) (parley\.[a-z_]+\(.*\))\n}
		{remote_text($1, parse_args($2), $3, $4, 0)}mge;
	die "$path: a \"-- \@remote\" line that cannot be read\n" if $before =~ /^-- \@remote/m;
	return $before . wrapper($f, $body, $replace);
}

# The block of one function in a script.
sub function_block
{
	my ($f, $src, $v) = @_;
	my $p = $f->{proxy};
	# a redeclared signature's merge is NAME--SINCE.sql
	return hand_block($f, $f->{previous} ? "$src/$f->{name}--$f->{since}.sql" : "$src/$f->{name}.sql")
	  if $p->{merge} eq 'hand';
	if ($p->{rule} eq 'partition0' && $f->{returns} !~ /^(jsonb|void)$/)
	{
		# nothing to relay: PL/Proxy calls the shard's function of that name
		return "CREATE FUNCTION parley.$f->{name}(" . join(', ', map { "$_->{sqlname} $_->{type}" } @{ $f->{args} })
		  . ") RETURNS $f->{returns}\nLANGUAGE plproxy SECURITY DEFINER AS \$\$\n"
		  . "    CLUSTER 'parley_shards';\n    RUN ON 0;\n\$\$;\n";
	}
	return remote_function($f) . ($merge_comment{ $p->{merge} } // '') . wrapper($f, body_at($f, $v));
}

sub proxied { return $_[0]->{proxy}{rule} !~ /^(local|shard|none)$/ }

# Functions in table order, except that one whose merge uses another comes
# after it.
sub ordered
{
	my @pending = @_;
	my (@out, %done);
	while (@pending)
	{
		my $progress = 0;
		for my $f (@pending)
		{
			next if $done{ $f->{name} };
			my $uses = $f->{proxy}{uses};
			next if $uses && grep({ $_->{name} eq $uses } @pending) && !$done{$uses};
			push @out, $f;
			$done{ $f->{name} } = 1;
			$progress = 1;
			last;
		}
		@pending = grep { !$done{ $_->{name} } } @pending;
		die "a cycle of uses= among " . join(' ', map { $_->{name} } @pending) . "\n"
		  if @pending && !$progress;
	}
	return @out;
}

sub version_cmp
{
	my @a = split(/\./, $_[0]);
	my @b = split(/\./, $_[1]);
	return $a[0] <=> $b[0] || $a[1] <=> $b[1] || $a[2] <=> $b[2];
}

# The base script of version $v: every function up to $v, section by
# section.
sub base_script
{
	my ($v, $src, $head) = @_;
	my $out = read_fragment($head);
	for my $sec (@sections)
	{
		my @fs = grep { proxied($_) && $_->{proxy}{section} eq $sec->{name} } at_version($v);
		next unless @fs;
		my $rule = '-- ' . ('-' x 75) . "\n";
		$out .= "\n$rule" . join('', map { "-- $_\n" } @{ $sec->{prose} }) . $rule;
		$out .= "\n" . function_block($_, $src, $v) for ordered(@fs);
	}
	return $out . "\nREVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley FROM PUBLIC;\n"
	  . "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley_proxy FROM PUBLIC;\n";
}

# The update script to version $to: the merges replaced in $to, then the
# functions added in $to.
sub update_script
{
	my ($to, $src, $head) = @_;
	my $out = read_fragment($head);
	my (@revoke, @lean);
	for my $f (ordered(grep { proxied($_) } at_version($to)))
	{
		if ($f->{since} eq $to)
		{
			$out .= "\n" . function_block($f, $src, $to);
			push @revoke, "parley_proxy.$f->{name}(" . arg_types($f) . ")"
			  unless $f->{proxy}{rule} eq 'partition0' && $f->{returns} !~ /^(jsonb|void)$/;
			push @revoke, "parley.$f->{name}(" . arg_types($f) . ")";
		}
		elsif (-e "$src/$f->{name}--$to.sql")
		{
			$out .= "\n" . hand_block($f, "$src/$f->{name}--$to.sql", 1);
		}
		elsif ($to eq LEAN_SINCE && lean($f))
		{
			push @lean, wrapper($f, lean_body($f), 1);
		}
	}
	$out .= "\n-- The one-shard wrappers keep the shard's status without relay().\n" . join("\n", @lean) if @lean;
	$out .= "\nREVOKE ALL ON FUNCTION\n    " . join(",\n    ", @revoke) . "\nFROM PUBLIC;\n" if @revoke;
	$out .= replaced_block($_) for grep { proxied($_) && ($_->{until} // '') eq $to } @functions;
	return $out;
}

# A signature replaced in the update: the roles that could run it (a
# gateway's) may run the new one; then the old wrapper and its remote
# function go.
sub replaced_block
{
	my ($f) = @_;
	my $types = arg_types($f);
	my $old = "parley.$f->{name}($types)";
	my $new = "parley.$f->{name}(" . arg_types($function{ $f->{name} }) . ")";
	return <<SQL;

-- $f->{name}($types) is replaced: who could run it may run the new one.
DO \$\$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper AND pg_catalog.has_function_privilege(a.oid, '$old', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION $new TO %I', r);
    END LOOP;
END
\$\$;
DROP FUNCTION $old;
DROP FUNCTION parley_proxy.$f->{name}($types);
SQL
}

sub proxy_script
{
	my ($path) = @_;
	my $dir = dirname($path);
	my $name = basename($path, '.sql');
	my $src = "$dir/src";
	my $head = "$src/$name.head.sql";
	die "$head: no such file (every script of parley_proxy starts with one)\n" unless -e $head;
	return update_script($2, $src, $head) if $name =~ /^parley_proxy--(\d+\.\d+\.\d+)--(\d+\.\d+\.\d+)$/;
	return base_script($1, $src, $head) if $name =~ /^parley_proxy--(\d+\.\d+\.\d+)$/;
	die "$path: not a parley_proxy script name\n";
}

# ---------------------------------------------------------------------------
# extension/gateway-role.sql
# ---------------------------------------------------------------------------

sub grants
{
	my @g = map { "    parley.$_->{name}(" . arg_types($_) . ")" } grep { $_->{gateway} } current();
	return <<'EOF' . join(",\n", @g) . "\nTO :\"role\";\n";
-- Grants for the role a gateway (parleyd) connects as: it may execute the
-- API functions and nothing else -- no table access, no key management.
-- Run as the extension's owner:
--   psql -v role=parley_gateway -f extension/gateway-role.sql
-- The role must exist (CREATE ROLE parley_gateway LOGIN PASSWORD '...').

GRANT USAGE ON SCHEMA parley TO :"role";
GRANT EXECUTE ON FUNCTION
EOF
}

# proxy/shard-role.sql: what the proxy runs on a shard beyond the gateway's
# functions.
sub shard_grants
{
	my @g = map { "    parley.$_->{name}(" . arg_types($_) . ")" }
	  grep { !$_->{gateway} && $_->{proxy}{rule} !~ /^(local|none)$/ } current();
	return <<'SQL' . join(",\n", @g) . "\nTO :\"role\";\n"
-- Grants, on a shard database, for the role parley_proxy connects as (the
-- user of the proxy's USER MAPPING for server parley_shards): the API, the
-- internal conversation_create_at, service keys (partition 0), and the
-- activity columns that the proxy's merge of conversation lists reads.
-- Nothing else: no other table access.  Run as the extension's owner:
--   psql -d shard0 -v role=parley_shard -f proxy/shard-role.sql
-- The role must exist (CREATE ROLE parley_shard LOGIN PASSWORD '...').

-- What a gateway may run (extension/gateway-role.sql), and more.
\ir ../extension/gateway-role.sql
GRANT EXECUTE ON FUNCTION
SQL
	  . "GRANT SELECT (id, created_at, last_message_at) ON parley.conversations TO :\"role\";\n";
}

# ---------------------------------------------------------------------------
# Tables in the docs, between their markers
# ---------------------------------------------------------------------------

sub replace_marked
{
	my ($path, $which, $text) = @_;
	open(my $fh, '<', $path) or die "$path: $!\n";
	my $old = do { local $/; <$fh> };
	close($fh);
	my $begin = "<!-- api: $which (generated from api/api.txt; edit that file) -->\n";
	my $end = "<!-- api: end $which -->\n";
	my $new = $old;
	$new =~ s/\Q$begin\E.*?\Q$end\E/$begin$text$end/s
	  or die "$path: no markers \"$begin\" ... \"$end\"\n";
	return $new;
}

# README: the signature and answer of every function that has "answers".
sub readme_table
{
	my $t = "| function | returns |\n|---|---|\n";
	for my $f (grep { $_->{answers} } current())
	{
		my $sig = join(', ', map { "$_->{sqlname} $_->{type}" . (defined $_->{default} ? " DEFAULT $_->{default}" : '') }
			  @{ $f->{args} });
		my $v = $f->{since} eq '0.1.0' ? '' : " ($f->{since})";
		$t .= "| `$f->{name}($sig)`$v | $f->{answers} |\n";
	}
	return $t;
}

my %cost = (
	conversation => [ "the conversation's shard", '1' ],
	guest => [ "the guest's home partition", '1' ],
	all => [ 'all shards', 'shards' ],
	split => [ 'the shards holding the ids given (PL/Proxy `SPLIT`)', '1 per shard concerned' ],
	partition0 => [ 'partition 0', '1' ]);

# docs/scaling.md: where each call runs, functions with the same cost on one
# row, rows in the order of their first function.
sub scaling_table
{
	my (@rows, %row);
	for my $f (current())
	{
		my $c = $f->{cost} // $cost{ $f->{proxy}{rule} } // next;
		my $key = "$c->[0]\t$c->[1]";
		push @rows, $row{$key} = {cost => $c, names => []} unless $row{$key};
		push @{ $row{$key}{names} }, "`$f->{name}`";
	}
	my $t = "| function | runs on | remote calls |\n|---|---|---|\n";
	$t .= '| ' . join(', ', @{ $_->{names} }) . " | $_->{cost}[0] | $_->{cost}[1] |\n" for @rows;
	return $t;
}

# ---------------------------------------------------------------------------

parse_table();
if ($catalog)
{
	print sort map {
		my $f = $_;
		# the catalog spells timestamptz out
		"$f->{name}(" . join(', ', map { "$_->{sqlname} " . ($_->{type} =~ s/^timestamptz$/timestamp with time zone/r) }
			  @{ $f->{args} }) . ") -> "
		  . ($f->{returns} =~ s/^TABLE \(/TABLE(/r) . "\n"
	} current();
}
if ($dump)
{
	require JSON::PP;
	my %d = (functions => [ map { my %c = %$_; delete $c{previous}; \%c } current() ], endpoints => \@endpoints, params => \%param_doc);
	print JSON::PP->new->canonical->pretty->encode(\%d);
}
write_or_check($readme_out, replace_marked($readme_out, 'signatures', readme_table())) if $readme_out;
write_or_check($scaling_out, replace_marked($scaling_out, 'costs', scaling_table())) if $scaling_out;
write_or_check($routes_out, routes_inc()) if $routes_out;
write_or_check($proxy_out, proxy_script($proxy_out)) if $proxy_out;
write_or_check($grants_out, grants()) if $grants_out;
write_or_check($shard_grants_out, shard_grants()) if $shard_grants_out;

#!/usr/bin/perl
# Doxygen input filter for the Markdown pages (docs/Doxyfile FILTER_PATTERNS):
# turns the handouts' TeX math into Doxygen formulas, rendered by MathJax.
#
#   $$ ... $$  (display, may span lines)  ->  \f[ ... \f]
#   $ ... $    (inline, may run over a line break)  ->  \f$ ... \f$
#
# Fenced code blocks and `inline code` are left alone, so `$EDITOR` in a
# shell example stays as it is. Reads the file named by its argument,
# writes to stdout.
use strict;
use warnings;

my $in_fence = 0;  # inside ``` ... ```
my $math = '';     # inside math: '$$' (display) or '$' (inline), else ''

# Convert the math delimiters of one stretch of text outside code spans.
# Inline math may run over a line break; a blank line ends it.
sub math {
    my ($text) = @_;
    my $out = '';
    while ($text =~ s/^(.*?)(?<!\\)(\$\$|\$)//s) {
        my ($before, $delim) = ($1, $2);
        $out .= $before;
        if ($math eq '') {
            $out .= $delim eq '$$' ? '\\f[' : '\\f$';
            $math = $delim;
        } elsif ($delim eq $math) {
            $out .= $delim eq '$$' ? '\\f]' : '\\f$';
            $math = '';
        } else {
            $out .= $delim;  # a lone $ inside display math
        }
    }
    return $out . $text;
}

open(my $fh, '<', $ARGV[0]) or die "doxy-math: cannot read $ARGV[0]: $!\n";
while (my $line = <$fh>) {
    if ($line =~ /^\s*(```|~~~)/) {
        $in_fence = !$in_fence;
        print $line;
        next;
    }
    if ($in_fence) { print $line; next; }
    $math = '' if $math eq '$' && $line =~ /^\s*$/;
    # Split off `code spans`: odd pieces are code.
    my @pieces = split /(`[^`]*`)/, $line;
    print map { /^`/ ? $_ : math($_) } @pieces;
}
close $fh;

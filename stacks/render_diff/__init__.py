"""What a pull request changes in the offline renders, as one size-bounded markdown comment (CI posts it).

``python -m stacks.render_diff --base <dir> --head <dir>`` compares two folders of renders (``dev-aws/``,
``prod-gcp/``, ... as ``make render-all`` writes them): ``compare`` finds added, removed and changed resources and
files, ``markdown`` writes the summary and the folded unified diff within GitHub's comment size.
"""

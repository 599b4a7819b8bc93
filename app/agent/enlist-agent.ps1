<#
.SYNOPSIS
  Enlist discovery agent for Windows: sends the signed-in user's details to your IT provider's
  Enlist portal.

.DESCRIPTION
  Reads the signed-in user's name, email, phone, office, department and job title (from Active
  Directory on a domain-joined PC), shows them and sends them to the portal. Run by an RMM tool
  as SYSTEM, it reports the user signed in at the console. Windows PowerShell 5.1 or later.

  Exit codes (the same as enlist_agent.py):
    0  sent (or -DryRun shown)
    2  usage or configuration error (no portal URL or token, nobody signed in)
    3  not sent: confirmation needed (add -Yes when unattended) or answered no
    4  the portal rejected the user (the reasons are printed)
    5  the portal refused the token: ask your IT provider for a new agent
    6  network error: no network, unknown host, connection refused, or no Enlist API at the URL
    7  TLS error: the portal's certificate is not trusted
    8  server error or unexpected answer (including "too many requests" that did not clear)
    Any other code (1): the agent itself failed; the error is printed.

.EXAMPLE
  powershell.exe -NoProfile -ExecutionPolicy Bypass -File enlist-agent.ps1 -Yes
#>
[CmdletBinding()]
param(
  [string]$Url = '',
  [string]$Token = '',
  [switch]$Yes,
  [switch]$DryRun,
  [switch]$Json,
  [int]$TimeoutSec = 30
)

$Config = @{ PortalUrl = ""; Token = ""; Deployment = "" }  # filled in by the portal

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ApiPath = '/api/v1/discovery'
$EXIT_OK = 0; $EXIT_USAGE = 2; $EXIT_CONFIRM = 3; $EXIT_REJECTED = 4
$EXIT_TOKEN = 5; $EXIT_NETWORK = 6; $EXIT_TLS = 7; $EXIT_SERVER = 8
$RetriesAfter429 = 2
$MaxRetryWait = 120
# Windows PowerShell 5.1 otherwise serialises some arrays as {"value": [...], "Count": n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue

function Write-Outcome([int]$Code, [string]$Message, [string[]]$Details = @(), $Data = @{}) {
  # Print how the run ended (plain words or one JSON object) and stop with the exit code.
  if ($Json) {
    $out = [ordered]@{}
    foreach ($key in $Data.Keys) { $out[$key] = $Data[$key] }
    $out.exit_code = $Code; $out.ok = ($Code -eq 0); $out.message = $Message
    $out.details = @($Details)
    Write-Output (ConvertTo-Json -InputObject $out -Depth 6)
  } else {
    $lines = @($Message) + @($Details | ForEach-Object { "  $_" })
    if ($Code -eq $EXIT_OK -or $Code -eq $EXIT_REJECTED) { $lines | Write-Output }
    else { $lines | ForEach-Object { [Console]::Error.WriteLine($_) } }
  }
  exit $Code
}

function Split-FullName([string]$FullName) {
  # Split "First Middle Last" or "Last, First" into first and last name.
  $name = ($FullName -replace '\s*\([^)]*\)\s*$', '').Trim()
  if ($name -match ',') {
    $last, $first = $name -split ',', 2
    return @($first.Trim(), $last.Trim())
  }
  $words = @($name -split '\s+' | Where-Object { $_ })
  if ($words.Count -eq 0) { return @('', '') }
  return @($words[0], (($words | Select-Object -Skip 1) -join ' '))
}

function Test-RoutableUpn([string]$Upn) {
  # The UPN is usually the mailbox, unless its suffix is an internal one such as corp.local.
  $suffix = ($Upn -split '@')[-1].ToLower()
  return ($Upn -match '^[^\s@]+@[^\s@]+\.[^\s@]+$') -and -not ($suffix -match '\.(local|lan|internal|corp)$')
}

function Get-SignedInUser {
  # Return the domain and account of the person using this PC (the console user under SYSTEM).
  $account = $env:USERNAME; $domain = $env:USERDOMAIN
  if ($account -like '*$' -or $account -eq 'SYSTEM') {
    $console = $null
    try { $console = (Get-CimInstance Win32_ComputerSystem).UserName } catch { }
    if (-not $console) {
      Write-Outcome $EXIT_USAGE ('No one is signed in at this PC''s console, so there is no ' +
        'user to send. Run the agent while the user is signed in.')
    }
    $domain, $account = $console -split '\\', 2
  }
  return @($domain, $account)
}

function Get-DirectoryUser([string]$Account) {
  # Read the user's own Active Directory entry through ADSI, or $null off the domain.
  $escaped = $Account -replace '\\', '\5c' -replace '\*', '\2a' -replace '\(', '\28' -replace '\)', '\29'
  try {
    $searcher = [adsisearcher]"(&(objectCategory=person)(objectClass=user)(sAMAccountName=$escaped))"
    $searcher.ClientTimeout = [TimeSpan]::FromSeconds(30)
    return $searcher.FindOne()
  } catch { return $null }
}

function Get-First($Entry, [string]$Name) {
  # Return the first value of a directory attribute, or ''.
  if (-not $Entry) { return '' }
  $values = $Entry.Properties[$Name]
  if ($values -and $values.Count -gt 0) { return [string]$values[0] }
  return ''
}

function Get-OsName {
  # Name Windows the way enlist_agent.py does, so both agents send the same value.
  $v = [Environment]::OSVersion.Version
  $name = if ($v.Build -ge 22000) { 'Windows 11' } else { "Windows $($v.Major)" }
  return ('{0} ({1}.{2}.{3})' -f $name, $v.Major, $v.Minor, $v.Build)
}

function Get-UserRecord {
  # Collect the signed-in user as one "pc" discovery record.
  $domain, $account = Get-SignedInUser
  $machine = $env:COMPUTERNAME
  $sid = ''
  try {
    $sid = ([Security.Principal.NTAccount]"$domain\$account").Translate(
      [Security.Principal.SecurityIdentifier]).Value
  } catch { }
  $entry = $null
  if ($domain -and $domain -ne $machine) { $entry = Get-DirectoryUser $account }
  $upn = Get-First $entry 'userprincipalname'
  if (-not $upn -and $env:USERNAME -eq $account) {
    # 5.1 turns a native command's stderr into a terminating error under 'Stop': catch it.
    try { $upn = "$(& whoami.exe /upn 2>$null)".Trim() } catch { $upn = '' }
  }
  $first = Get-First $entry 'givenname'; $last = Get-First $entry 'sn'
  $display = Get-First $entry 'displayname'
  if (-not $display) { $display = (@($first, $last) | Where-Object { $_ }) -join ' ' }
  if (-not $first -and -not $last -and $display) { $first, $last = Split-FullName $display }
  $email = Get-First $entry 'mail'
  if (-not $email -and (Test-RoutableUpn $upn)) { $email = $upn }
  $username = Get-First $entry 'samaccountname'
  if (-not $username) { $username = $account }
  $key = if ($sid) { $sid } else { 'pc:{0}:{1}\{2}' -f $machine, $domain, $account }
  $record = [ordered]@{
    source       = 'pc'
    source_key   = $key
    first_name   = $first
    last_name    = $last
    display_name = $display
    email        = $email
    phone        = Get-First $entry 'telephonenumber'
    location     = Get-First $entry 'physicaldeliveryofficename'
    department   = Get-First $entry 'department'
    job_title    = Get-First $entry 'title'
    username     = $username
    machine_name = $machine
    os           = Get-OsName
  }
  return $record
}

function Show-Record($Record) {
  # Show a person what will be sent.
  $lines = @('This will be sent to Enlist:')
  foreach ($key in $Record.Keys) {
    $value = if ($Record[$key]) { $Record[$key] } else { '-' }
    $lines += ('  {0,-13} {1}' -f (($key -replace '_', ' ') + ':'), $value)
  }
  if ($Json) { $lines | ForEach-Object { [Console]::Error.WriteLine($_) } } else { $lines | Write-Output }
}

function Get-Endpoint([string]$PortalUrl) {
  # Return the discovery API URL for a portal address, or stop with a usage error.
  $base = $PortalUrl.Trim().TrimEnd('/')
  if ($base -notmatch '^https?://[^/\s]+') {
    Write-Outcome $EXIT_USAGE "The portal address '$PortalUrl' is not a web address: it must start with https://."
  }
  if ($base.EndsWith($ApiPath)) { return $base }
  return $base + $ApiPath
}

function Get-HttpStatus($ErrorRecord) {
  # Return the HTTP status of a failed request, or 0 when there was no answer at all.
  $response = $ErrorRecord.Exception.Response
  if ($response -and $response.StatusCode) { return [int]$response.StatusCode }
  return 0
}

function Get-ErrorBody($ErrorRecord) {
  # Return the body the portal sent with an error status.
  if ($ErrorRecord.ErrorDetails -and $ErrorRecord.ErrorDetails.Message) {
    return $ErrorRecord.ErrorDetails.Message
  }
  try {
    $reader = New-Object IO.StreamReader($ErrorRecord.Exception.Response.GetResponseStream())
    return $reader.ReadToEnd()
  } catch { return '' }
}

function Get-RetryAfter($ErrorRecord) {
  # Read Retry-After (seconds) from a 429 answer in Windows PowerShell 5.1 or PowerShell 7.
  $headers = $ErrorRecord.Exception.Response.Headers
  $value = $null
  try { $value = $headers['Retry-After'] } catch { }
  if (-not $value) { try { $value = [int]$headers.RetryAfter.Delta.TotalSeconds } catch { } }
  if ("$value" -match '^\d+$') { return [int]"$value" }
  return 5
}

function Stop-ConnectionError($ErrorRecord, [string]$Endpoint) {
  # Explain a failure to reach the portal in plain words, with the right exit code.
  $hostName = ([Uri]$Endpoint).Authority
  $kinds = ''; $e = $ErrorRecord.Exception
  while ($e) { $kinds += ' ' + $e.GetType().Name + ':' + $e.Status + ':' + $e.SocketErrorCode; $e = $e.InnerException }
  if ($kinds -match 'TrustFailure|SecureChannelFailure|AuthenticationException') {
    Write-Outcome $EXIT_TLS ("The portal's certificate is not trusted. If your IT provider uses its own " +
      'certificate authority, install its certificate in the Windows certificate store first.')
  }
  if ($kinds -match 'NameResolutionFailure|HostNotFound|NoData') {
    Write-Outcome $EXIT_NETWORK "Cannot find $($hostName): check the portal address and that this PC is online."
  }
  if ($kinds -match 'ConnectFailure|ConnectionRefused') {
    Write-Outcome $EXIT_NETWORK "$hostName refused the connection: check the portal address and port."
  }
  if ($kinds -match 'Timeout|TaskCanceled') {
    Write-Outcome $EXIT_NETWORK "$hostName did not answer within $TimeoutSec seconds."
  }
  Write-Outcome $EXIT_NETWORK "Cannot reach $($hostName): $($ErrorRecord.Exception.Message)"
}

function Send-Record($Record, [string]$Endpoint, [string]$Secret) {
  # POST the record, honouring Retry-After on 429; return the status and the answer's JSON.
  [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor
    [Net.SecurityProtocolType]::Tls12
  $body = ConvertTo-Json -InputObject @{ records = @($Record) } -Depth 5 -Compress
  # Bytes, not a string: Windows PowerShell 5.1 would send a string body in ISO-8859-1.
  $bytes = [Text.Encoding]::UTF8.GetBytes($body)
  $headers = @{ Authorization = "Bearer $Secret"; Accept = 'application/json' }
  for ($attempt = 0; $attempt -le $RetriesAfter429; $attempt++) {
    try {
      $answer = Invoke-RestMethod -Uri $Endpoint -Method Post -Headers $headers -Body $bytes `
        -ContentType 'application/json' -UseBasicParsing -TimeoutSec $TimeoutSec `
        -MaximumRedirection 0 -UserAgent 'enlist-agent/1.0 (powershell)'
      return @{ Status = 200; Answer = $answer; Text = '' }
    } catch {
      $status = Get-HttpStatus $_
      if ($status -eq 0) { Stop-ConnectionError $_ $Endpoint }
      $text = Get-ErrorBody $_
      $wait = if ($status -eq 429) { Get-RetryAfter $_ } else { 0 }
      if ($status -ne 429 -or $attempt -eq $RetriesAfter429 -or $wait -gt $MaxRetryWait) {
        $answer = $null
        try { $answer = $text | ConvertFrom-Json } catch { }
        return @{ Status = $status; Answer = $answer; Text = $text; Wait = $wait }
      }
      Start-Sleep -Seconds $wait
    }
  }
}

function Get-PortalError($Answer) {
  # Return the portal's {"error": ...} message, or ''.
  if ($Answer -and $Answer.error) { return [string]$Answer.error }
  return ''
}

function Complete-Send($Sent, $Record, [string]$Endpoint) {
  # Turn the portal's answer into the outcome, with the same words as enlist_agent.py.
  $status = $Sent.Status; $answer = $Sent.Answer; $message = Get-PortalError $answer
  $shaped = $answer -and $answer.counts -and ($null -ne $answer.results)
  if (($status -eq 200 -or $status -eq 422) -and $shaped) {
    $result = @($answer.results)[0]
    $details = @()
    foreach ($problem in @($answer.results | Where-Object { $_.outcome -eq 'rejected' })) {
      $details += "Rejected $($Record.display_name) ($($problem.source_key)):"
      $reasons = @($problem.errors | Where-Object { $_ } | ForEach-Object { "  $($_.field): $($_.message)" })
      if ($reasons.Count -eq 0) { $reasons = @('  ?: no reason') }
      $details += $reasons
    }
    $code = if ($details.Count -gt 0) { $EXIT_REJECTED } else { $EXIT_OK }
    Write-Outcome $code "Sent 1 user to Enlist: $($result.outcome)." $details @{
      counts = $answer.counts; results = @($answer.results); records = @($Record) }
  }
  if ($status -eq 200 -or $status -eq 422) {
    Write-Outcome $EXIT_SERVER "The address answered, but not like an Enlist portal (HTTP $status). Check the portal address."
  }
  if ($status -eq 401 -or $status -eq 403) {
    if (-not $message) { $message = "The portal refused this agent's token. Ask your IT provider for a new agent." }
    Write-Outcome $EXIT_TOKEN $message
  }
  if ($status -eq 404 -or $status -eq 405) {
    Write-Outcome $EXIT_NETWORK "There is no Enlist discovery API at this URL ($Endpoint, HTTP $status). Check the portal address."
  }
  if ($status -ge 300 -and $status -lt 400) {
    Write-Outcome $EXIT_NETWORK 'The portal address redirects elsewhere. Use the final address as -Url (or ask for a new agent).'
  }
  if ($status -eq 429) {
    Write-Outcome $EXIT_SERVER "The portal is busy (too many requests) and asked to wait $($Sent.Wait) seconds. Nothing more was sent: try again later. $message"
  }
  if ($status -eq 413) {
    if (-not $message) { $message = 'The portal said the upload is too large.' }
    Write-Outcome $EXIT_SERVER $message
  }
  Write-Outcome $EXIT_SERVER "The portal had a problem (HTTP $status). $message Try again later."
}

function Confirm-Send($Record, [string]$Target) {
  # Ask before sending unless -Yes; stop with exit code 3 when nobody can answer or says no.
  if ($Yes) { return }
  Show-Record $Record
  $interactive = $false
  try { $interactive = [Environment]::UserInteractive -and -not [Console]::IsInputRedirected } catch { }
  if (-not $interactive) {
    Write-Outcome $EXIT_CONFIRM ('Not sent: nobody is here to confirm. Run again with -Yes to ' +
      'send without asking (for RMM tools and scripts).') @() @{ records = @($Record) }
  }
  $answer = Read-Host "Send this to Enlist ($Target)? [y/N]"
  if ($answer -notmatch '^\s*(y|yes)\s*$') { Write-Outcome $EXIT_CONFIRM 'Not sent: you answered no.' }
}

# Flags first, then the environment, then the values built in by the portal.
$portalUrl = @($Url, $env:ENLIST_URL, $Config.PortalUrl) | Where-Object { $_ } | Select-Object -First 1
$secret = @($Token, $env:ENLIST_TOKEN, $Config.Token) | Where-Object { $_ } | Select-Object -First 1
if (-not $DryRun -and (-not $portalUrl -or -not $secret)) {
  Write-Outcome $EXIT_USAGE ('No portal address or token configured. Download the agent again ' +
    'from the Enlist portal, or pass -Url and -Token (or set ENLIST_URL and ENLIST_TOKEN).')
}
$record = Get-UserRecord
if ($DryRun) {
  if (-not $Json) { Show-Record $record }
  Write-Outcome $EXIT_OK 'Dry run: nothing was sent.' @() @{ records = @($record) }
}
$endpoint = Get-Endpoint $portalUrl
$target = if ($Config.Deployment) { $Config.Deployment } else { $portalUrl }
Confirm-Send $record $target
$sent = Send-Record $record $endpoint $secret.Trim()
Complete-Send $sent $record $endpoint
